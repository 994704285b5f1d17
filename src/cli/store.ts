import type { Command } from "commander";
import { ImageStore, storeRoot } from "../image/image-store.js";

/** Opens the image store named by the global `--root` flag (else `PIER_ROOT`, else `/var/lib/pier`). */
export async function openStore(cmd: Command): Promise<ImageStore> {
  const root = (cmd.optsWithGlobals() as { root?: string }).root;
  return ImageStore.open(storeRoot(root));
}
