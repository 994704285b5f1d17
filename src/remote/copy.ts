/**
 * `copyImage(src, dst)`: the one copy, over the {@link ImageSource}/{@link ImageDestination}
 * interface, used by pull, push and `pier copy`. Digests are preserved: manifests travel as their
 * original bytes and blobs as their original streams. Children before parents, blobs before the
 * manifest that names them, so a destination is never left naming content it lacks.
 */
import type { Digest } from "../oci/digest.js";
import { isIndexMediaType } from "../oci/media-types.js";
import { hostPlatform, selectManifest } from "../oci/platform.js";
import type { Descriptor, Platform } from "../oci/types.js";
import { parseManifestOrIndex } from "../oci/validate.js";
import type { FetchedManifest } from "./client.js";
import { RemoteError } from "./error.js";
import { forEachLimit } from "./limit.js";
import { blobKind, type ProgressListener } from "./progress-events.js";
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
    if (isIndexMediaType(parse(root).mediaType) && !this.opts.allPlatforms) {
      const parsed = parse(root);
      if (parsed.kind !== "index") throw new Error("unreachable");
      const chosen = selectManifest(parsed.index, this.opts.platform ?? hostPlatform());
      root = await this.src.getManifest(chosen.digest);
    }
    await this.copyManifest(root, true);
    await this.dst.commit?.();
    return {
      digest: root.digest,
      mediaType: root.mediaType,
      size: root.bytes.length,
      manifests: this.written,
    };
  }

  private async copyManifest(m: FetchedManifest, root: boolean): Promise<void> {
    const doc = parse(m);
    if (doc.kind === "index") {
      for (const child of doc.index.manifests) {
        await this.copyManifest(await this.src.getManifest(child.digest), false);
      }
    } else {
      const blobs = [doc.manifest.config, ...doc.manifest.layers];
      await forEachLimit(blobs, this.concurrency, (d) => this.copyBlob(d));
    }
    await this.dst.putManifest(m, { root });
    this.written.push(m.digest);
    this.opts.onProgress?.({ type: "manifest", id: m.digest, mediaType: m.mediaType });
    if (this.opts.referrers) await this.copyReferrers(m.digest);
  }

  private async copyReferrers(subject: Digest): Promise<void> {
    if (!this.src.listReferrers) return;
    for (const r of await this.src.listReferrers(subject)) {
      if (this.written.includes(r.digest)) continue;
      await this.copyManifest(await this.src.getManifest(r.digest), false);
    }
  }

  private copyBlob(desc: Descriptor): Promise<void> {
    let p = this.seenBlobs.get(desc.digest);
    if (!p) {
      p = this.transferBlob(desc);
      this.seenBlobs.set(desc.digest, p);
    }
    return p;
  }

  private async transferBlob(desc: Descriptor): Promise<void> {
    const emit = this.opts.onProgress;
    const id = desc.digest;
    emit?.({ type: "start", id, kind: blobKind(desc.mediaType), size: desc.size, mediaType: desc.mediaType });
    const src = this.src;
    const verify = !this.dst.verifiesBlobs;
    const result = await this.dst.putBlob(desc, () => src.getBlob(desc, undefined, { verify }), {
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
