/**
 * Where a build's result goes besides pier's store (`--output`, BuildKit's exporters and their
 * syntax): `type=oci,dest=FILE` (an OCI archive; `tar=false`: an OCI layout directory),
 * `type=docker,dest=FILE` (a docker-archive that `docker load` and `podman load` read),
 * `type=registry` (`type=image,push=true`: pushed under the `-t` names or `name=`), and
 * `type=local,dest=DIR` (the final stage's files). The image is always in pier's store first (its
 * blobs are there), then copied out by the copy engine that `pier copy` uses, so an archive
 * appears only complete. Options pier does not apply are refused by name.
 */
import { mkdir, readdir } from "node:fs/promises";
import type { ImageStore } from "../image/image-store.js";
import { applyLayerFile } from "../layer/index.js";
import type { Digest } from "../oci/digest.js";
import type { Compression } from "../oci/media-types.js";
import { parseReference } from "../oci/reference.js";
// Types only: the HTTP client and transports load when an output needs them.
import type { RemoteOptions, TransportSpec } from "../remote/index.js";
import { BuildError } from "./error.js";
import { MAX_MANIFEST_BYTES, storeManifestSource } from "./store-source.js";

/** One parsed `--output`. */
export type BuildOutput =
  | { type: "oci" | "docker"; dest: string; tar: boolean; names: string[] }
  | { type: "registry"; names: string[] }
  | { type: "local"; dest: string };

/** What every `--output` may also say about the layers (BuildKit's `compression=`). */
export interface OutputSpec {
  outputs: BuildOutput[];
  compression?: Compression;
}

const COMMON = ["type", "compression", "compression-level", "force-compression", "oci-mediatypes"];
const KEYS: Record<string, string[]> = {
  oci: [...COMMON, "dest", "tar", "name"],
  docker: [...COMMON, "dest", "tar", "name"],
  registry: [...COMMON, "name", "push"],
  image: [...COMMON, "name", "push"],
  local: ["type", "dest"],
};

function invalid(message: string): BuildError {
  return new BuildError("INVALID_ARGUMENT", `--output: ${message}`);
}

/**
 * Parses `--output` values (`type=T,k=v,…`; a bare path is `type=local,dest=PATH`, as
 * buildx takes it). `tags` are the `-t` names, the default image names of every type.
 */
export function parseOutputs(values: readonly string[], tags: readonly string[]): OutputSpec {
  const spec: OutputSpec = { outputs: [] };
  for (const value of values) {
    const kv = new Map<string, string>();
    if (!value.includes("=")) kv.set("type", "local").set("dest", value);
    else
      for (const part of value.split(",")) {
        const eq = part.indexOf("=");
        if (eq <= 0) throw invalid(`"${part}" in "${value}" is not key=value`);
        kv.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
      }
    const type = kv.get("type");
    if (type === undefined) throw invalid(`"${value}" has no type= (oci, docker, registry, local)`);
    const known = KEYS[type];
    if (!known)
      throw new BuildError(
        "UNSUPPORTED",
        `--output type=${type}: pier exports oci, docker, registry (image,push=true) and local`,
      );
    for (const k of kv.keys())
      if (!known.includes(k))
        throw new BuildError("UNSUPPORTED", `--output type=${type}: option ${k} is not supported`);
    const c = kv.get("compression");
    if (c !== undefined) {
      const compression: Compression | undefined =
        c === "gzip" || c === "zstd" ? c : c === "uncompressed" ? "none" : undefined;
      if (!compression) throw invalid(`compression=${c}: gzip, zstd or uncompressed`);
      if (spec.compression !== undefined && spec.compression !== compression)
        throw invalid("two outputs ask for different compressions");
      spec.compression = compression;
    }
    for (const k of ["compression-level", "force-compression"] as const)
      if (kv.has(k))
        throw new BuildError("UNSUPPORTED", `--output ${k}: pier compresses layers once, at its own level`);
    if (kv.has("oci-mediatypes") && kv.get("oci-mediatypes") !== "true")
      throw new BuildError("UNSUPPORTED", "--output oci-mediatypes=false: pier writes OCI media types");
    const names = kv.has("name")
      ? kv
          .get("name")!
          .split(";")
          .filter((n) => n !== "")
      : [...tags];
    for (const n of names) {
      try {
        parseReference(n);
      } catch (err) {
        throw invalid(`name ${n}: ${(err as Error).message}`);
      }
    }
    const dest = kv.get("dest");
    if (dest === "-") throw new BuildError("UNSUPPORTED", "--output dest=-: write to a file or directory");
    switch (type) {
      case "oci":
      case "docker": {
        if (!dest) throw invalid(`type=${type} needs dest=`);
        const tar = kv.get("tar") ?? "true";
        if (tar !== "true" && tar !== "false") throw invalid(`tar=${tar}: true or false`);
        if (type === "docker" && tar === "false")
          throw new BuildError("UNSUPPORTED", "--output type=docker,tar=false: a docker image is an archive");
        if (type === "docker" && names.length === 0)
          throw invalid("type=docker needs an image name (-t NAME or name=NAME) for the archive's RepoTags");
        spec.outputs.push({ type, dest, tar: tar === "true", names });
        break;
      }
      case "image":
      case "registry": {
        const push = kv.get("push") ?? (type === "registry" ? "true" : "false");
        if (push !== "true")
          throw new BuildError(
            "UNSUPPORTED",
            "--output type=image without push=true: the image is in pier's store already",
          );
        if (names.length === 0) throw invalid("type=registry needs an image name (-t NAME or name=NAME)");
        spec.outputs.push({ type: "registry", names });
        break;
      }
      default:
        if (!dest) throw invalid("type=local needs dest=");
        spec.outputs.push({ type: "local", dest });
    }
  }
  return spec;
}

/** What {@link exportBuild} needs besides the outputs. */
export interface ExportContext {
  store: ImageStore;
  /** The built image's manifest (in the store, named or not). */
  manifest: Digest;
  /** For `type=registry`: credentials, plain-HTTP registries, registries.conf. */
  remote?: RemoteOptions;
  /** One line per finished output (`exporting to …`). */
  progress?: (line: string) => void;
}

/** Writes the built image to each output, in order. */
export async function exportBuild(outputs: readonly BuildOutput[], ctx: ExportContext): Promise<void> {
  for (const out of outputs) {
    switch (out.type) {
      case "local":
        await exportRootfs(ctx, out.dest);
        ctx.progress?.(`exported the files to ${out.dest}`);
        break;
      case "registry":
        for (const name of out.names) {
          const ref = parseReference(name).toString();
          await copyFromStore(ctx, `docker://${ref}`, { ...(ctx.remote ?? {}) });
          ctx.progress?.(`pushed ${ref}`);
        }
        break;
      default: {
        const ref = out.names[0] === undefined ? undefined : parseReference(out.names[0]);
        // As BuildKit: an OCI layout names the image by its tag (`org.opencontainers.image.ref.name`),
        // a docker archive by the whole reference (`RepoTags`).
        const transport: TransportSpec =
          out.type === "docker"
            ? { kind: "docker-archive", file: out.dest, name: ref!.toString() }
            : ({
                kind: out.tar ? "oci-archive" : "oci",
                ...(out.tar ? { file: out.dest } : { dir: out.dest }),
                ...(ref?.tag !== undefined ? { name: ref.tag } : {}),
              } as TransportSpec);
        await copyFromStore(ctx, transport, {});
        ctx.progress?.(`exported ${out.type === "docker" ? "a docker" : "an OCI"} image to ${out.dest}`);
      }
    }
  }
}

/** Copies the built manifest from the store to a transport (`docker://…`, `oci:…`, archives). */
async function copyFromStore(
  ctx: ExportContext,
  transport: string | TransportSpec,
  remote: RemoteOptions,
): Promise<void> {
  const { copyImage, openDestination } = await import("../remote/index.js");
  const dest = await openDestination(transport, remote);
  try {
    await copyImage(storeManifestSource(ctx.store, ctx.manifest), dest);
  } finally {
    await dest.close();
  }
}

/** The image's files in `dest` (missing or empty), layer by layer on a worker thread. */
async function exportRootfs(ctx: ExportContext, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  if ((await readdir(dest)).length > 0)
    throw invalid(`type=local,dest=${dest}: the directory is not empty (pier writes into an empty one)`);
  const m = JSON.parse(
    (await ctx.store.content.readBytes(ctx.manifest, MAX_MANIFEST_BYTES)).toString("utf8"),
  ) as {
    config: { digest: Digest };
    layers: { digest: Digest; mediaType: string }[];
  };
  const config = JSON.parse(
    (await ctx.store.content.readBytes(m.config.digest, 8 << 20)).toString("utf8"),
  ) as {
    rootfs: { diff_ids: Digest[] };
  };
  for (const [i, l] of m.layers.entries())
    await applyLayerFile(dest, ctx.store.content.blobPath(l.digest), {
      mediaType: l.mediaType,
      expectedDiffId: config.rootfs.diff_ids[i]!,
    });
}
