/**
 * `copyImage(src, dst)`: the one copy, over the {@link ImageSource}/{@link ImageDestination}
 * interface, used by pull, push and `pier copy`. Digests are preserved: manifests travel as their
 * original bytes and blobs as their original streams. Children before parents, blobs before the
 * manifest that names them, so a destination is never left naming content it lacks.
 */

import type { Readable } from "node:stream";
import { type Digest, digestOf } from "../oci/digest.js";
import {
  dockerIndexToOci,
  dockerManifestToOci,
  ociIndexToDocker,
  ociManifestToDocker,
} from "../oci/docker.js";
import { type Compression, isIndexMediaType, MediaType } from "../oci/media-types.js";
import { hostPlatform, selectManifest } from "../oci/platform.js";
import type { Descriptor, ImageIndex, ImageManifest, Platform } from "../oci/types.js";
import { type ManifestOrIndex, parseManifestOrIndex } from "../oci/validate.js";
import type { FetchedManifest } from "./client.js";
import { RemoteError } from "./error.js";
import { forEachLimit } from "./limit.js";
import { blobKind, type ProgressListener } from "./progress-events.js";
import { needsRecompression, stageRecompressed } from "./recompress.js";
import type { ImageDestination, ImageSource } from "./transports/types.js";

/** Options of {@link copyImage}. */
export interface CopyOptions {
  /** Platform picked from an index; default the host's. */
  platform?: Platform;
  /** Copy every manifest of an index (and the index itself) instead of one platform. */
  allPlatforms?: boolean;
  /** Blobs moved in parallel; default 4. */
  concurrency?: number;
  /** Also copy referrers (signatures, SBOMs) of every copied manifest, recursively. */
  referrers?: boolean;
  /** Progress events, per blob. */
  onProgress?: ProgressListener;
  /**
   * Convert manifests (and indexes) to this format; blobs keep their bytes and digests, the
   * config's bytes too (only descriptors' media types change), so only manifest digests change.
   * Referrers are copied as they are.
   */
  format?: "oci" | "docker";
  /** Recompress layers to this compression (`--dest-compress`); changes layer and manifest digests. */
  destCompress?: Compression;
  /**
   * Called with the manifest the source reference names, before anything is written: a trust
   * policy throws here to refuse the image (nothing is then stored). The rest of the copy reads
   * children by digest from that manifest, so what was admitted is what is copied.
   */
  admit?: (root: FetchedManifest, src: ImageSource) => Promise<void>;
}

/** What was copied: the root that the destination now names. */
export interface CopyResult {
  digest: Digest;
  mediaType: string;
  size: number;
  /** Every manifest digest written (root, children, referrers). */
  manifests: Digest[];
}

/** Copies the image `src` names to `dst`. See the module comment for guarantees. */
export async function copyImage(
  src: ImageSource,
  dst: ImageDestination,
  opts: CopyOptions = {},
): Promise<CopyResult> {
  const run = new CopyRun(src, dst, opts);
  return run.copyRoot();
}

class CopyRun {
  private readonly written: Digest[] = [];
  private readonly seenBlobs = new Map<Digest, Promise<void>>();
  private readonly concurrency: number;

  constructor(
    private readonly src: ImageSource,
    private readonly dst: ImageDestination,
    private readonly opts: CopyOptions,
  ) {
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
  }

  async copyRoot(): Promise<CopyResult> {
    let root = await this.src.getManifest();
    await this.opts.admit?.(root, this.src);
    if (isIndexMediaType(parse(root).mediaType) && !this.opts.allPlatforms) {
      const parsed = parse(root);
      if (parsed.kind !== "index") throw new Error("unreachable");
      const chosen = selectManifest(parsed.index, this.opts.platform ?? hostPlatform());
      root = await this.src.getManifest(chosen.digest);
    }
    // Recompressing without `format` keeps the manifest's own family.
    const format = this.opts.format ?? (this.opts.destCompress ? familyOf(root.mediaType) : undefined);
    const out = await this.copyManifest(root, true, format);
    await this.dst.commit?.();
    return { digest: out.digest, mediaType: out.mediaType, size: out.bytes.length, manifests: this.written };
  }

  /** Copies a manifest and what it names; resolves with what was written (converted or not). */
  private async copyManifest(
    m: FetchedManifest,
    root: boolean,
    format: "oci" | "docker" | undefined,
  ): Promise<FetchedManifest> {
    const original = m;
    let doc = parse(m);
    const renamed = new Map<Digest, FetchedManifest>();
    if (doc.kind === "index") {
      for (const child of doc.index.manifests) {
        const written = await this.copyManifest(await this.src.getManifest(child.digest), false, format);
        if (written.digest !== child.digest) renamed.set(child.digest, written);
      }
    } else if (this.opts.destCompress && format !== undefined) {
      // recompression only on the conversion path (not for referrers, copied as they are)
      const target = this.opts.destCompress;
      const src = doc.manifest;
      const mediaType = doc.mediaType;
      await this.copyBlob(src.config);
      const layers = [...src.layers];
      await forEachLimit(layers, this.concurrency, async (layer, i) => {
        layers[i] = needsRecompression(layer, target)
          ? await this.recompressBlob(layer, target, mediaType)
          : layer;
        if (layers[i] === layer) await this.copyBlob(layer);
      });
      if (layers.some((l, i) => l !== src.layers[i])) {
        const manifest = { ...src, layers };
        const bytes = Buffer.from(JSON.stringify(manifest));
        m = { bytes, mediaType, digest: digestOf(bytes) };
        doc = { kind: "manifest", mediaType, manifest };
      }
    } else {
      const blobs = [doc.manifest.config, ...doc.manifest.layers];
      await forEachLimit(blobs, this.concurrency, (d) => this.copyBlob(d));
    }
    const out = format ? convertManifest(m, doc, format, renamed) : m;
    await this.dst.putManifest(out, { root });
    this.written.push(out.digest);
    this.opts.onProgress?.({ type: "manifest", id: out.digest, mediaType: out.mediaType });
    if (this.opts.referrers) await this.copyReferrers(original.digest);
    return out;
  }

  private async copyReferrers(subject: Digest): Promise<void> {
    if (!this.src.listReferrers) return;
    for (const r of await this.src.listReferrers(subject)) {
      if (this.written.includes(r.digest)) continue;
      await this.copyManifest(await this.src.getManifest(r.digest), false, undefined);
    }
  }

  /** Recompresses one layer into the destination; resolves with its new descriptor. */
  private async recompressBlob(
    layer: Descriptor,
    target: Compression,
    manifestType: string,
  ): Promise<Descriptor> {
    const staged = await stageRecompressed(
      layer,
      await this.src.getBlob(layer),
      target,
      manifestType === MediaType.DockerManifest && this.opts.format !== "oci",
    );
    try {
      await this.copyBlob(staged.descriptor, staged.open);
      return staged.descriptor;
    } finally {
      await staged.dispose();
    }
  }

  private copyBlob(desc: Descriptor, open?: () => Promise<Readable>): Promise<void> {
    let p = this.seenBlobs.get(desc.digest);
    if (!p) {
      p = this.transferBlob(desc, open);
      this.seenBlobs.set(desc.digest, p);
    }
    return p;
  }

  private async transferBlob(desc: Descriptor, open?: () => Promise<Readable>): Promise<void> {
    const emit = this.opts.onProgress;
    const id = desc.digest;
    emit?.({ type: "start", id, kind: blobKind(desc.mediaType), size: desc.size, mediaType: desc.mediaType });
    const src = this.src;
    const verify = !this.dst.verifiesBlobs;
    const result = await this.dst.putBlob(desc, open ?? (() => src.getBlob(desc, undefined, { verify })), {
      ...(emit
        ? { onBytes: (n: number) => emit({ type: "bytes", id, transferred: n, size: desc.size }) }
        : {}),
      ...(src.location ? { mountFrom: src.location } : {}),
    });
    if (result === "exists") emit?.({ type: "exists", id, size: desc.size });
    else if (result === "mounted")
      emit?.({ type: "mounted", id, size: desc.size, from: src.location?.repository ?? "" });
    else emit?.({ type: "done", id, size: desc.size });
  }
}

function parse(m: FetchedManifest): ReturnType<typeof parseManifestOrIndex> {
  try {
    return parseManifestOrIndex(m.bytes, m.mediaType);
  } catch (err) {
    throw new RemoteError("INVALID_RESPONSE", `manifest ${m.digest}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * `m` in `format`, or `m` itself when it already is. Index entries whose manifests were
 * converted point at the converted digests (`renamed`). Pure.
 */
export function convertManifest(
  m: FetchedManifest,
  doc: ManifestOrIndex,
  format: "oci" | "docker",
  renamed: ReadonlyMap<Digest, FetchedManifest>,
): FetchedManifest {
  const isDocker = m.mediaType === MediaType.DockerManifest || m.mediaType === MediaType.DockerManifestList;
  const same = isDocker === (format === "docker");
  let converted: ImageManifest | ImageIndex;
  try {
    if (doc.kind === "manifest") {
      if (same) return m;
      converted = format === "oci" ? dockerManifestToOci(doc.manifest) : ociManifestToDocker(doc.manifest);
    } else {
      if (same && renamed.size === 0) return m;
      const index = same
        ? doc.index
        : format === "oci"
          ? dockerIndexToOci(doc.index)
          : ociIndexToDocker(doc.index);
      converted = {
        ...index,
        manifests: index.manifests.map((d) => {
          const r = renamed.get(d.digest);
          return r ? { ...d, mediaType: r.mediaType, digest: r.digest, size: r.bytes.length } : d;
        }),
      };
    }
  } catch (err) {
    throw new RemoteError(
      "UNSUPPORTED",
      `cannot convert ${m.digest} to ${format}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const bytes = Buffer.from(JSON.stringify(converted));
  return { bytes, mediaType: converted.mediaType ?? m.mediaType, digest: digestOf(bytes) };
}

/** The format family of a manifest media type. Pure. */
function familyOf(mediaType: string): "oci" | "docker" {
  return mediaType === MediaType.DockerManifest || mediaType === MediaType.DockerManifestList
    ? "docker"
    : "oci";
}
