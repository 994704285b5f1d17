/**
 * Where the cgroup hierarchies are: parsing `/proc/self/mountinfo` and `/proc/self/cgroup`
 * (pure) and deciding the host's cgroup mode from them.
 */
import { readFileSync } from "node:fs";
import { CgroupError } from "./error.js";

/** One line of `/proc/self/mountinfo` (proc(5)), the fields pier needs. */
export interface MountInfoEntry {
  /** The path inside the filesystem that is mounted (not `/` for bind mounts and cgroup namespaces). */
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Parses the text of `/proc/<pid>/mountinfo`; malformed lines are skipped. */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const sep = fields.indexOf("-", 6);
    if (sep < 0 || fields.length < sep + 4) continue;
    out.push({
      root: unescapeOctal(fields[3]!),
      mountPoint: unescapeOctal(fields[4]!),
      fsType: fields[sep + 1]!,
      superOptions: fields[sep + 3]!.split(","),
    });
  }
  return out;
}

/** A mounted cgroup hierarchy. */
export interface CgroupMount {
  mountPoint: string;
  /** The cgroup path the mount point shows (`/` unless bind-mounted or in a cgroup namespace). */
  root: string;
}

/**
 * `unified`: only cgroup v2 (the modern default). `hybrid`: v1 controllers plus a cgroup2 mount
 * with no controllers of its own (systemd's hybrid layout). `legacy`: v1 only.
 */
export type CgroupMode = "unified" | "hybrid" | "legacy";

/** The host's cgroup hierarchies. */
export interface CgroupLayout {
  mode: CgroupMode;
  /** The cgroup2 mount, when there is one. */
  unified?: CgroupMount;
  /** v1 hierarchies keyed by subsystem (`memory`, `cpu`, …, and `name=systemd`). */
  v1: Record<string, CgroupMount>;
}

/** The v1 subsystems the kernel knows (cgroups(7)); other super options are mount flags. */
export const V1_SUBSYSTEMS: readonly string[] = [
  "cpu",
  "cpuacct",
  "cpuset",
  "memory",
  "devices",
  "freezer",
  "net_cls",
  "net_prio",
  "blkio",
  "perf_event",
  "hugetlb",
  "pids",
  "rdma",
  "misc",
];

// The same hierarchy may be mounted several times (bind mounts into containers, chroots);
// the one under /sys/fs/cgroup is the one every tool agrees on.
function better(current: CgroupMount | undefined, candidate: MountInfoEntry): boolean {
  if (!current) return true;
  return (
    !current.mountPoint.startsWith("/sys/fs/cgroup") && candidate.mountPoint.startsWith("/sys/fs/cgroup")
  );
}

/** Decides the layout from parsed mountinfo. Throws `NO_CGROUP_MOUNT` when no cgroup is mounted. */
export function detectLayout(mounts: readonly MountInfoEntry[]): CgroupLayout {
  const v1: Record<string, CgroupMount> = {};
  let unified: CgroupMount | undefined;
  for (const m of mounts) {
    if (m.fsType === "cgroup2") {
      if (better(unified, m)) unified = { mountPoint: m.mountPoint, root: m.root };
    } else if (m.fsType === "cgroup") {
      for (const opt of m.superOptions) {
        if (V1_SUBSYSTEMS.includes(opt) || opt.startsWith("name=")) {
          if (better(v1[opt], m)) v1[opt] = { mountPoint: m.mountPoint, root: m.root };
        }
      }
    }
  }
  const hasV1Controllers = Object.keys(v1).some((k) => !k.startsWith("name="));
  if (!hasV1Controllers) {
    if (!unified)
      throw new CgroupError("NO_CGROUP_MOUNT", "no cgroup filesystem is mounted (see /proc/self/mountinfo)");
    return { mode: "unified", unified, v1: {} };
  }
  return unified ? { mode: "hybrid", unified, v1 } : { mode: "legacy", v1 };
}

/** This process's mount table, parsed; `undefined` when `/proc/self/mountinfo` cannot be read. */
export function readMountTable(): MountInfoEntry[] | undefined {
  try {
    return parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"));
  } catch {
    return undefined;
  }
}

/** Reads and decides the layout of the calling process's mount namespace. */
export async function readLayout(): Promise<CgroupLayout> {
  let text: string;
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch (err) {
    throw new CgroupError("NO_CGROUP_MOUNT", `cannot read /proc/self/mountinfo: ${err}`, { cause: err });
  }
  return detectLayout(parseMountInfo(text));
}

/**
 * Parses `/proc/<pid>/cgroup` into the process's cgroup path per hierarchy: keys are the v1
 * subsystems (each of a co-mounted line, e.g. `cpu` and `cpuacct`), `name=…`, and `""` for v2.
 */
export function parseProcCgroup(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === "") out[""] = path;
    else for (const c of controllers.split(",")) out[c] = path;
  }
  return out;
}

/** The cgroups of process `pid`, by default this one (see {@link parseProcCgroup}). */
export async function readOwnCgroups(pid: number | "self" = "self"): Promise<Record<string, string>> {
  return parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, "utf8"));
}
