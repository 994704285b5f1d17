/** Reading files of an unpacked root filesystem from the host, without leaving the rootfs. */
import { readFile } from "node:fs/promises";
import { isErrno, isPierError } from "../errors.js";
import { resolveInRoot } from "../layer/index.js";
import type { UserFiles } from "./bundle-config.js";

/**
 * Reads a text file of the rootfs, resolving every symlink with the rootfs as `/` (an image's
 * `/etc/passwd -> /host/file` cannot reach the host). `undefined` when absent or unresolvable.
 */
export async function readRootfsFile(rootfs: string, path: string): Promise<string | undefined> {
  try {
    return await readFile(resolveInRoot(rootfs, path, { followFinal: true }), "utf8");
  } catch (err) {
    if (isErrno(err, "ENOENT") || isErrno(err, "ENOTDIR") || isErrno(err, "EISDIR")) return undefined;
    if (isPierError(err)) return undefined;
    throw err;
  }
}

/** The rootfs's `/etc/passwd` and `/etc/group`, for user lookup when making `config.json`. */
export async function readUserFiles(rootfs: string): Promise<UserFiles> {
  const passwd = await readRootfsFile(rootfs, "/etc/passwd");
  const group = await readRootfsFile(rootfs, "/etc/group");
  return { ...(passwd === undefined ? {} : { passwd }), ...(group === undefined ? {} : { group }) };
}
