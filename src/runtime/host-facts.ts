/**
 * Gathers the host facts the pure planner needs ({@link HostFacts}): file kinds of bind sources,
 * the kernel's last capability and the cgroup hierarchies mounted on the host.
 */
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import type { NamespaceType } from "../oci/runtime-spec/config.js";
import { type MountInfoEntry, parseMountInfo } from "./cgroups/mountinfo.js";
import type { HostCgroupMount, HostFacts } from "./plan/create-plan.js";
import { NS_PROC_NAME } from "./plan/linux-constants.js";
import { runningInUserNamespace } from "./rootless.js";

let lastCapCache: number | undefined;

/** `/proc/sys/kernel/cap_last_cap` (40 when unreadable). */
export function lastCap(): number {
  if (lastCapCache === undefined) {
    try {
      lastCapCache = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
    } catch {
      lastCapCache = 40;
    }
  }
  return lastCapCache;
}

/**
 * Cgroup hierarchies from `/proc/self/mountinfo` (super options give the v1 controllers), each
 * with the container's path in it when one of `containerDirs` lies under its mountpoint.
 * `mounts`: that table, when the caller has read it already.
 */
export function hostCgroupMounts(
  containerDirs: readonly string[] = [],
  mounts?: readonly MountInfoEntry[],
): HostCgroupMount[] {
  if (mounts) return cgroupMountsOf(mounts, containerDirs);
  let text: string;
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  return cgroupMountsIn(text, containerDirs);
}

/** Mount points where the hierarchies are normally mounted, preferred over any other. */
const CGROUP_ROOT = "/sys/fs/cgroup";

/**
 * The cgroup hierarchies of a mountinfo text, one entry per hierarchy (see
 * {@link hostCgroupMounts}). A hierarchy mounted twice — CRIU mounts each one again in a
 * temporary "cgyard" while it dumps, a tool may bind one elsewhere — is listed once, at its
 * mount under /sys/fs/cgroup when it has one: a container gets each hierarchy once (two mounts
 * of `pids` on its `sys/fs/cgroup/pids` failed `create` when the second one had vanished).
 */
export function cgroupMountsIn(text: string, containerDirs: readonly string[] = []): HostCgroupMount[] {
  return cgroupMountsOf(parseMountInfo(text), containerDirs);
}

function cgroupMountsOf(
  mounts: readonly MountInfoEntry[],
  containerDirs: readonly string[],
): HostCgroupMount[] {
  const byHierarchy = new Map<string, HostCgroupMount>();
  for (const { fsType: fstype, mountPoint: mountpoint, superOptions } of mounts) {
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const superOpts = superOptions.filter(
      (o) => o !== "rw" && o !== "ro" && !o.startsWith("nsdelegate") && o !== "relatime",
    );
    const options = superOpts
      .filter(
        (o) =>
          ![
            "xattr",
            "clone_children",
            "noprefix",
            "memory_recursiveprot",
            "memory_localevents",
            "favordynmods",
          ].includes(o) && !o.startsWith("release_agent"),
      )
      .join(",");
    const m: HostCgroupMount = { mountpoint, fstype, options };
    const dir = containerDirs.find((d) => d.startsWith(`${mountpoint}/`));
    if (dir !== undefined) m.containerPath = dir.slice(mountpoint.length);
    const key = `${fstype} ${options}`;
    const seen = byHierarchy.get(key);
    const standard = (x: HostCgroupMount) =>
      x.mountpoint === CGROUP_ROOT || x.mountpoint.startsWith(`${CGROUP_ROOT}/`);
    if (seen === undefined || (!standard(seen) && standard(m))) byHierarchy.set(key, m);
  }
  return [...byHierarchy.values()];
}

/** `newuidmap`/`newgidmap` where Debian's uidmap installs them (they must be setuid root). */
function idMapHelpers(): { newuidmap?: string; newgidmap?: string } {
  const out: { newuidmap?: string; newgidmap?: string } = {};
  for (const name of ["newuidmap", "newgidmap"] as const) {
    for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
      if (existsSync(`${dir}/${name}`)) {
        out[name] = `${dir}/${name}`;
        break;
      }
    }
  }
  return out;
}

/**
 * Whether the namespace file at `path` is this process's own namespace of `type` (what runc's
 * `isHostNetNS` asks): same device and inode as `/proc/self/ns/<type>`. False when either
 * cannot be read (joining it then fails with its own error).
 */
export function isRuntimeNamespace(path: string, type: NamespaceType): boolean {
  try {
    const a = statSync(path);
    const b = statSync(`/proc/self/ns/${NS_PROC_NAME[type]}`);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

/** Live host facts for the planner (`mounts`: this process's mount table, when already read). */
export function hostFacts(
  containerCgroupDirs: readonly string[] = [],
  mounts?: readonly MountInfoEntry[],
): HostFacts {
  return {
    sourceKind(path: string) {
      try {
        return statSync(path).isDirectory() ? "dir" : "file";
      } catch {
        return "missing";
      }
    },
    lastCap: lastCap(),
    cgroupMounts: hostCgroupMounts(containerCgroupDirs, mounts),
    euid: process.geteuid?.() ?? 0,
    egid: process.getegid?.() ?? 0,
    inUserNs: runningInUserNamespace(),
    idMapHelpers: idMapHelpers(),
    isRuntimeNamespace,
    realPath(path: string) {
      try {
        return realpathSync(path);
      } catch {
        return undefined;
      }
    },
  };
}
