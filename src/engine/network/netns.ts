/**
 * Persistent network namespaces, as `ip netns add` makes them: a new namespace kept alive by a
 * bind mount of its nsfs file onto a regular file, so plugins and the runtime can join it by
 * path and it outlives every process in it until it is unmounted.
 */
// Synchronous: one small file each, on every container's start and end.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  FS_MAGIC,
  isMountedAs,
  MNT_DETACH,
  nativeNetns,
  nativeUnmount,
} from "../../runtime/native-mounter.js";
import { NetworkError } from "./error.js";

/** True when a network namespace is bound at `path`. */
export function isNetnsMounted(path: string): boolean {
  return isMountedAs(path, FS_MAGIC.nsfs);
}

/**
 * Creates a new network namespace bound at `path` with `lo` up, through pier-init's resident
 * mounter (no process started per namespace). Throws `NETNS_FAILED`; a failure leaves no file
 * behind.
 */
export async function createNetns(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (isNetnsMounted(path))
    throw new NetworkError("NETNS_FAILED", `network namespace ${path} already exists`);
  writeFileSync(path, "", { mode: 0o400 });
  try {
    await nativeNetns(path);
  } catch (err) {
    if (isNetnsMounted(path)) await nativeUnmount(path, MNT_DETACH).catch(() => {});
    rmSync(path, { force: true });
    throw new NetworkError(
      "NETNS_FAILED",
      `cannot create network namespace ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Unmounts and deletes a namespace made by {@link createNetns}; the namespace itself goes once
 * no process is left in it. Absent or already unmounted is fine. Throws `NETNS_FAILED`.
 */
export async function removeNetns(path: string): Promise<void> {
  if (isNetnsMounted(path)) {
    try {
      await nativeUnmount(path);
    } catch (err) {
      // Still in use by a process: detach it so the file can go.
      if (isNetnsMounted(path))
        await nativeUnmount(path, MNT_DETACH).catch(() => {
          throw new NetworkError(
            "NETNS_FAILED",
            `cannot unmount network namespace ${path}: ${(err as Error).message}`,
          );
        });
    }
  }
  rmSync(path, { force: true });
}
