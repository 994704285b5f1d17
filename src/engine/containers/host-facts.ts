/**
 * What container specs depend on in the host (kernel release, architecture, CPUs, the
 * capabilities the kernel knows, AppArmor and SELinux, device nodes): read here, once per
 * create, so that the spec decisions stay pure and testable with made-up facts.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { cpus, release } from "node:os";
import { join } from "node:path";
import { lastCap } from "../../runtime/host-facts.js";
import { goArch } from "../../runtime/seccomp/docker-profile.js";
import { EngineError } from "../error.js";

/** A device node of the host. */
export interface HostDevice {
  path: string;
  type: "c" | "b";
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** The host facts of {@link readHostFacts}. */
export interface HostFacts {
  /** Kernel release (`6.1.0-13-amd64`). */
  kernel: string;
  /** Go's name of the architecture (`amd64`). */
  arch: string;
  /** Online CPUs. */
  cpus: number;
  /** `/proc/sys/kernel/cap_last_cap`. */
  lastCap: number;
  /**
   * Capability numbers in the daemon's own bounding set: all a container can get. (Docker's
   * `--privileged` asks for every capability the kernel knows and fails where the daemon lacks
   * one; pier gives what it has, as podman does.)
   */
  boundingSet: number[];
  /** AppArmor is enabled (then a profile name would have to be applied, which pier does not). */
  appArmor: boolean;
  /** SELinux is enabled (likewise for labels). */
  selinux: boolean;
  /** The block I/O controller takes weights (cgroup v1 `blkio.weight`, v2 `io.weight`/`io.bfq.weight`). */
  blkioWeight: boolean;
  /**
   * The memory controller accounts swap (cgroup v1 `memory.memsw.*`, v2 `memory.swap.max`):
   * without it a `--memory-swap` cannot be applied (Docker's "swap limit capabilities").
   */
  swapLimit: boolean;
  /** The node at `path` (`INVALID_ARGUMENT` naming it when it is not a device). */
  device(path: string): HostDevice;
  /** Every device node under /dev (what `--privileged` gives), sorted by path. */
  allDevices(): HostDevice[];
}

/** A device node by host path; errors name the path. */
export function hostDevice(path: string): HostDevice {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (err) {
    throw new EngineError(
      "INVALID_ARGUMENT",
      `error gathering device information while adding device "${path}": ${(err as Error).message}`,
    );
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice())
    throw new EngineError(
      "INVALID_ARGUMENT",
      `error gathering device information while adding device "${path}": not a device node`,
    );
  const rdev = Number(st.rdev);
  return {
    path,
    type: st.isCharacterDevice() ? "c" : "b",
    // glibc's gnu_dev_major/minor.
    major: ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff),
    minor: (rdev & 0xff) | ((rdev >>> 12) & 0xfff00),
    fileMode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
  };
}

function walkDevices(dir: string, out: HostDevice[]): void {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    // As Docker: not the pseudo-terminals of the host, nor its console.
    if (
      p === "/dev/pts" ||
      p === "/dev/console" ||
      p === "/dev/ptmx" ||
      p === "/dev/mqueue" ||
      p === "/dev/shm"
    )
      continue;
    if (e.isDirectory()) walkDevices(p, out);
    else if (e.isCharacterDevice() || e.isBlockDevice()) {
      try {
        out.push(hostDevice(p));
      } catch {}
    }
  }
}

function ownBoundingSet(last: number): number[] {
  let mask = (1n << BigInt(last + 1)) - 1n;
  try {
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) mask = BigInt(`0x${m[1]}`);
  } catch {}
  const out: number[] = [];
  for (let i = 0; i <= last; i++) if ((mask >> BigInt(i)) & 1n) out.push(i);
  return out;
}

/**
 * Whether the memory controller under `cgroupRoot` accounts swap, as Docker's sysinfo asks:
 * on cgroup v1 `memory/memory.memsw.limit_in_bytes`; on v2 `memory.swap.max`, which the root
 * cgroup never has, in a child cgroup with the memory controller (the kernel gives every one
 * the file, or none: `swapaccount=0`, no CONFIG_MEMCG_SWAP).
 */
export function hasSwapAccounting(cgroupRoot = "/sys/fs/cgroup"): boolean {
  if (!existsSync(join(cgroupRoot, "cgroup.controllers")))
    return existsSync(join(cgroupRoot, "memory", "memory.memsw.limit_in_bytes"));
  let children: import("node:fs").Dirent[];
  try {
    children = readdirSync(cgroupRoot, { withFileTypes: true });
  } catch {
    return false;
  }
  const memoryChild = children.find(
    (e) => e.isDirectory() && existsSync(join(cgroupRoot, e.name, "memory.current")),
  );
  return memoryChild !== undefined && existsSync(join(cgroupRoot, memoryChild.name, "memory.swap.max"));
}

/** Whether the blkio/io controller under `cgroupRoot` takes weights. */
export function hasBlkioWeight(cgroupRoot = "/sys/fs/cgroup"): boolean {
  return ["blkio/blkio.weight", "blkio/blkio.bfq.weight", "io.weight", "io.bfq.weight"].some((p) =>
    existsSync(join(cgroupRoot, p)),
  );
}

/** The facts of this host (its cgroup tree at `cgroupRoot`: a test points it at a made-up one). */
export function readHostFacts(cgroupRoot = "/sys/fs/cgroup"): HostFacts {
  return {
    kernel: release(),
    arch: goArch(),
    cpus: Math.max(1, cpus().length),
    lastCap: lastCap(),
    boundingSet: ownBoundingSet(lastCap()),
    appArmor: (() => {
      try {
        return readFileSync("/sys/module/apparmor/parameters/enabled", "utf8").trim() === "Y";
      } catch {
        return false;
      }
    })(),
    selinux: existsSync("/sys/fs/selinux/enforce"),
    blkioWeight: hasBlkioWeight(cgroupRoot),
    swapLimit: hasSwapAccounting(cgroupRoot),
    device: hostDevice,
    allDevices: () => {
      const out: HostDevice[] = [];
      walkDevices("/dev", out);
      return out.sort((a, b) => a.path.localeCompare(b.path));
    },
  };
}
