import { link, open, unlink, utimes } from "node:fs/promises";
import { dirname } from "node:path";
import { isErrno } from "../errors.js";

/** Mode of published blobs: content-addressed files are never modified in place. */
export const BLOB_MODE = 0o444;

/** Flushes a directory's entries to disk, so that a rename or link in it survives a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Publishes a complete, verified, fsynced temp file at `target` by hard link, then removes the temp
 * name. Linking never replaces an existing file, so two processes publishing the same blob are both
 * fine: the loser finds it there (same digest, same bytes) and refreshes its times so that a garbage
 * collection that started earlier does not sweep it. Resolves `true` when this call created it.
 */
export async function publishFile(tmp: string, target: string): Promise<boolean> {
  try {
    // The blob's mtime is its publication time: garbage collection spares blobs newer than its start.
    const stamp = new Date();
    await utimes(tmp, stamp, stamp);
    for (;;) {
      try {
        await link(tmp, target);
        await fsyncDir(dirname(target));
        return true;
      } catch (err) {
        if (!isErrno(err, "EEXIST")) throw err;
      }
      const now = new Date();
      try {
        await utimes(target, now, now);
        return false;
      } catch (err) {
        // Deleted between our link attempt and now (a delete or GC): link again.
        if (!isErrno(err, "ENOENT")) throw err;
      }
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
}
