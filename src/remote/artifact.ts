/**
 * `pushArtifact`/`pullArtifact`: files as an OCI artifact (image-spec `artifacts-guidance.md`, as
 * oras does it): one layer per file titled with its base name, the empty config, an
 * `artifactType`, and optionally a `subject` so the artifact shows up among its referrers.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { buildArtifactManifest, EMPTY_DIGEST, EMPTY_JSON } from "../oci/artifact.js";
import type { Digest } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import { parseReference, type Reference, toReference } from "../oci/reference.js";
import type { Annotations, Descriptor } from "../oci/types.js";
import { parseManifestOrIndex } from "../oci/validate.js";
import type { FetchedManifest } from "./client.js";
import { RemoteError } from "./error.js";
import { clientFor, type RemoteOptions } from "./options.js";
import type { ProgressListener } from "./progress-events.js";
import { RegistryImage } from "./transports/docker.js";

/** The annotation that names a file of an artifact. */
export const TITLE_ANNOTATION = "org.opencontainers.image.title";

/** One file of an artifact. */
export interface ArtifactFile {
  path: string;
  /** Layer media type; default `application/vnd.oci.image.layer.v1.tar` (as oras). */
  mediaType?: string;
}

/** Options of {@link pushArtifact}. */
export interface PushArtifactOptions extends RemoteOptions {
  artifactType: string;
  /** A manifest in the same repository this artifact refers to (tag or digest reference). */
  subject?: string;
  annotations?: Annotations;
  onProgress?: ProgressListener;
}

async function fileDigest(path: string): Promise<{ digest: Digest; size: number }> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { digest: `sha256:${hash.digest("hex")}`, size: (await stat(path)).size };
}

/** Pushes `files` as an artifact at `ref`; resolves with the manifest's digest. */
export async function pushArtifact(
  ref: string,
  files: readonly (string | ArtifactFile)[],
  opts: PushArtifactOptions,
): Promise<{ digest: Digest; manifest: FetchedManifest }> {
  const r = parseReference(ref);
  const image = new RegistryImage(r, { client: clientFor(r.registry, opts) }).withOwnedClient();
  try {
    let subject: Descriptor | undefined;
    if (opts.subject) {
      const s = parseReference(opts.subject);
      if (s.registry !== r.registry || s.repository !== r.repository) {
        throw new RemoteError(
          "INVALID_REFERENCE",
          `subject ${opts.subject} must be in ${r.registry}/${r.repository}`,
        );
      }
      const m = await image.client.getManifest(s.repository, s.identifier);
      subject = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
    }
    const layers: Descriptor[] = [];
    for (const f of files) {
      const file = typeof f === "string" ? { path: f } : f;
      const { digest, size } = await fileDigest(file.path);
      const desc: Descriptor = {
        mediaType: file.mediaType ?? MediaType.OciLayer,
        digest,
        size,
        annotations: { [TITLE_ANNOTATION]: basename(file.path) },
      };
      opts.onProgress?.({ type: "start", id: digest, kind: "layer", size, mediaType: desc.mediaType });
      const res = await image.putBlob(desc, async () => createReadStream(file.path), {
        onBytes: (n) => opts.onProgress?.({ type: "bytes", id: digest, transferred: n, size }),
      });
      opts.onProgress?.({ type: res === "uploaded" ? "done" : "exists", id: digest, size });
      layers.push(desc);
    }
    const empty = { mediaType: MediaType.OciEmpty, digest: EMPTY_DIGEST, size: 2 };
    await image.putBlob(empty, async () => Readable.from([Buffer.from(EMPTY_JSON)]), {});
    const doc = buildArtifactManifest({
      artifactType: opts.artifactType,
      ...(layers.length ? { layers } : {}),
      ...(subject ? { subject } : {}),
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    });
    const bytes = Buffer.from(JSON.stringify(doc));
    const manifest: FetchedManifest = {
      bytes,
      mediaType: MediaType.OciManifest,
      digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
    };
    await image.putManifest(manifest, { root: true });
    return { digest: manifest.digest, manifest };
  } finally {
    await image.close();
  }
}

/** A file name from an untrusted title: a plain base name, or an error. Pure. */
export function safeTitle(title: string): string {
  if (title === "" || title === "." || title === ".." || title.includes("/") || title.includes("\0")) {
    throw new RemoteError(
      "INVALID_RESPONSE",
      `artifact file title ${JSON.stringify(title)} is not a plain file name`,
    );
  }
  return title;
}

/**
 * Downloads the titled layers of the artifact `ref` into `outDir` (created if needed). Every
 * file is verified against its digest before it appears under its name; titles that are not
 * plain file names are refused. Resolves with the written paths.
 */
export async function pullArtifact(
  ref: string | Reference,
  outDir: string,
  opts: RemoteOptions & { onProgress?: ProgressListener } = {},
): Promise<{ digest: Digest; artifactType?: string; files: string[] }> {
  const r = toReference(ref);
  const client = clientFor(r.registry, opts);
  try {
    const m = await client.getManifest(r.repository, r.identifier);
    const parsed = parseManifestOrIndex(m.bytes, m.mediaType);
    if (parsed.kind !== "manifest") {
      throw new RemoteError("UNSUPPORTED", `${m.digest}: an index, not an artifact manifest`);
    }
    const titled = parsed.manifest.layers.filter((l) => l.annotations?.[TITLE_ANNOTATION] !== undefined);
    const names = titled.map((l) => safeTitle(l.annotations![TITLE_ANNOTATION]!));
    if (new Set(names).size !== names.length)
      throw new RemoteError("INVALID_RESPONSE", `${m.digest}: duplicate file titles`);
    await mkdir(outDir, { recursive: true });
    const files: string[] = [];
    for (const [i, layer] of titled.entries()) {
      const target = join(outDir, names[i]!);
      const tmp = `${target}.pier-partial-${process.pid}`;
      opts.onProgress?.({
        type: "start",
        id: layer.digest,
        kind: "layer",
        size: layer.size,
        mediaType: layer.mediaType,
      });
      try {
        await pipeline(
          client.getBlob(r.repository, layer, {
            onBytes: (n) =>
              opts.onProgress?.({ type: "bytes", id: layer.digest, transferred: n, size: layer.size }),
          }),
          createWriteStream(tmp, { mode: 0o644 }),
        );
        await rename(tmp, target);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      opts.onProgress?.({ type: "done", id: layer.digest, size: layer.size });
      files.push(target);
    }
    const artifactType = parsed.manifest.artifactType ?? parsed.manifest.config.mediaType;
    return { digest: m.digest, ...(artifactType ? { artifactType } : {}), files };
  } finally {
    await client.close();
  }
}
