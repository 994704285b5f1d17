/** Garbage collection of the local image store: blobs that no named image reaches are deleted. */
import { collectLayoutGarbage, type GcResult } from "../content/gc.js";
import { imageChildren } from "./children.js";
import type { ImageStore } from "./image-store.js";

/**
 * Deletes every blob unreachable from the store's named images (or, with `dryRun`, lists them).
 * Runs under the layout lock; blobs published after the collection started are kept.
 */
export async function collectGarbage(
  store: ImageStore,
  options: { dryRun?: boolean } = {},
): Promise<GcResult> {
  return collectLayoutGarbage(store.content, store.layout, imageChildren(store.content), options);
}
