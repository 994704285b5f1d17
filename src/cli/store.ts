import type { Command } from "commander";
import type { ImageStore } from "../image/image-store.js";

/**
 * Opens the image store named by the global `--root` flag (else `PIER_ROOT`, else
 * `/var/lib/pier`). The store's modules load here, not when the command tree is built, so that
 * commands that never touch it (the engine's) start faster.
 */
export async function openStore(cmd: Command): Promise<ImageStore> {
  const { ImageStore, storeRoot } = await import("../image/image-store.js");
  const root = (cmd.optsWithGlobals() as { root?: string }).root;
  return ImageStore.open(storeRoot(root));
}
