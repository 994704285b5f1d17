import { stat } from "node:fs/promises";
import { isErrno, isPierError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import type { Descriptor } from "../oci/types.js";
import type { OciLayout } from "./layout.js";
import type { BlobInfo, ContentStore } from "./store.js";

/**
 * The descriptors a blob refers to (a manifest's config, layers and subject; an index's
 * manifests). The content layer never parses blobs: the caller supplies this, usually
 * `imageChildren(store)` from `src/image/children.ts`.
 */
export type ChildrenFn = (descriptor: Descriptor) => Promise<Descriptor[]>;

/** Options of {@link collectGarbage}. */
export interface GcOptions {
  /** Report what would be removed without removing anything. */
  dryRun?: boolean;
  /**
   * Keep blobs written or touched less than this long before the collection started (default 0):
   * a blob ingested by a pull that has not yet named its image in `index.json` is kept.
   */
  gracePeriodMs?: number;
}

/** What a collection found and did. */
export interface GcResult {
  /** Blobs removed (or, in a dry run, that would be). */
  removed: BlobInfo[];
  /** Bytes those blobs held. */
  removedBytes: number;
  /** Number of blobs reachable from the roots. */
  reachable: number;
  /** Blobs kept only because they are newer than the collection start minus the grace period. */
  keptAsNew: number;
}

// Publication stamps a blob's mtime just before linking it into place, and file times come from
// the kernel's coarse clock: this slack covers both gaps, so a blob published after the start is
// never judged older than it.
const CLOCK_SLACK_MS = 1000;

/**
 * The digests reachable from `roots` through `children`, each blob visited once. A blob whose
 * `children` call fails with `NOT_FOUND` (an image only partly present) counts as a leaf; any
 * other failure stops the walk, so a collection never sweeps on a partial mark.
 */
export async function reachableDigests(
  roots: readonly Descriptor[],
  children: ChildrenFn,
): Promise<Set<Digest>> {
  const seen = new Set<Digest>();
  const queue: Descriptor[] = [...roots];
  while (queue.length > 0) {
    const d = queue.pop()!;
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    try {
      queue.push(...(await children(d)));
    } catch (err) {
      if (!isPierError(err, "NOT_FOUND")) throw err;
    }
  }
  return seen;
}

/**
 * Mark and sweep: removes every blob of `store` not reachable from `roots`, except blobs
 * published or touched after the collection started (minus the grace period), which a
 * concurrent ingest may be about to reference. Blobs being ingested live in the ingest
 * directory and are never candidates. Returns what was (or, with `dryRun`, would be) removed.
 */
export async function collectGarbage(
  store: ContentStore,
  roots: readonly Descriptor[],
  children: ChildrenFn,
  options: GcOptions = {},
): Promise<GcResult> {
  const protectFrom = Date.now() - (options.gracePeriodMs ?? 0) - CLOCK_SLACK_MS;
  const marked = await reachableDigests(roots, children);
  const result: GcResult = { removed: [], removedBytes: 0, reachable: 0, keptAsNew: 0 };
  for await (const blob of store.list()) {
    if (marked.has(blob.digest)) {
      result.reachable++;
      continue;
    }
    if (await isNewerThan(store.blobPath(blob.digest), protectFrom)) {
      result.keptAsNew++;
      continue;
    }
    if (!options.dryRun && !(await store.delete(blob.digest))) continue;
    result.removed.push(blob);
    result.removedBytes += blob.size;
  }
  return result;
}

async function isNewerThan(path: string, since: number): Promise<boolean> {
  try {
    const st = await stat(path);
    return st.mtimeMs >= since;
  } catch (err) {
    if (isErrno(err, "ENOENT")) return false;
    throw err;
  }
}

/**
 * Collects the garbage of an image layout: the roots are every entry of its `index.json`, read
 * and swept while holding the layout lock, so no tag is added or moved in between.
 */
export async function collectLayoutGarbage(
  store: ContentStore,
  layout: OciLayout,
  children: ChildrenFn,
  options?: GcOptions,
): Promise<GcResult> {
  return layout.locked(async () => collectGarbage(store, await layout.roots(), children, options));
}
