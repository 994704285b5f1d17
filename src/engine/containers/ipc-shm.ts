/**
 * `--ipc shareable` and `--ipc container:NAME` as Docker does them: a shareable container has a
 * private IPC namespace whose `/dev/shm` is a tmpfs the engine mounts on the host
 * (`<container dir>/shm`, Docker's ShmPath) and binds into it, so that a container joining its
 * IPC namespace binds the same `/dev/shm` (POSIX shared memory is shared too, not only SysV
 * IPC). A container with a private IPC namespace (the default) has no such path: joining it is
 * refused with Docker's message.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { isMountedAs, MNT_DETACH, nativeMount, nativeUnmount } from "../../runtime/native-mounter.js";
import { EngineError } from "../error.js";
import { DEFAULT_SHM_SIZE } from "./resources.js";

/** statfs(2) `f_type` of tmpfs. */
const TMPFS_MAGIC = 0x01021994;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;

/** The host directory of a shareable container's `/dev/shm` (in its container directory). */
export function shareableShmPath(containerDir: string): string {
  return join(containerDir, "shm");
}

/** A container as {@link joinableShm} needs it: its IPC mode and directory. */
export interface IpcDonor {
  id: string;
  ipcMode: string | undefined;
  dir: string;
}

/**
 * The host path of `/dev/shm` a container joining `donor`'s IPC namespace binds: a shareable
 * donor's own, the host's for `--ipc host`, the one it joined itself for `container:…`
 * (`resolve` finds that one). Refused for a private (or `none`) donor, as Docker refuses it.
 */
export function joinableShm(donor: IpcDonor, resolve: (ref: string) => IpcDonor, depth = 0): string {
  const mode = donor.ipcMode;
  if (mode === "shareable") return shareableShmPath(donor.dir);
  if (mode === "host") return "/dev/shm";
  if (mode?.startsWith("container:") && depth < 8)
    return joinableShm(resolve(mode.slice("container:".length)), resolve, depth + 1);
  throw new EngineError(
    "INVALID_ARGUMENT",
    `container ${donor.id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`,
  );
}

/** `spec` with its `/dev/shm` a bind of host directory `source` (a shareable or joined one). Pure. */
export function bindShm(spec: Spec, source: string): void {
  spec.mounts = (spec.mounts ?? []).map((m) =>
    m.destination === "/dev/shm"
      ? { destination: "/dev/shm", type: "bind", source, options: ["rbind", "rprivate", "rw"] }
      : m,
  );
}

/**
 * Mounts a fresh tmpfs of `size` bytes (default 64 MiB) on a shareable container's shm
 * directory, as Docker does at each start (what an earlier run left there is gone).
 */
export async function mountShareableShm(containerDir: string, size = DEFAULT_SHM_SIZE): Promise<void> {
  const path = shareableShmPath(containerDir);
  await unmountShareableShm(containerDir);
  mkdirSync(path, { recursive: true, mode: 0o700 });
  await nativeMount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, `mode=1777,size=${size}`);
}

/** Unmounts a shareable container's shm tmpfs, if mounted (at removal; before each new one). */
export async function unmountShareableShm(containerDir: string): Promise<void> {
  const path = shareableShmPath(containerDir);
  while (isMountedAs(path, TMPFS_MAGIC)) await nativeUnmount(path, MNT_DETACH);
}
