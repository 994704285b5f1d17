/** The cgroup v2 implementation of {@link Cgroup}: one directory in the unified tree. */
import { mkdirSync } from "node:fs";
import { dirname, relative } from "node:path";
import type { LinuxResources } from "../../../oci/runtime-spec/resources.js";
import type { Cgroup } from "../cgroup.js";
import type { ApplyContext, Controller } from "../controller.js";
import { CgroupError } from "../error.js";
import type { FreezerState } from "../freezer.js";
import { cgroupFileExists, readCgroupFile, writeCgroupFile } from "../fs.js";
import { killCgroup } from "../kill.js";
import type { CgroupMode } from "../mountinfo.js";
import { addPsi } from "../psi.js";
import { listProcesses, removeCgroupDir } from "../remove.js";
import { type CgroupStats, emptyStats } from "../stats.js";
import { v2Cpu } from "./cpu.js";
import { v2Cpuset } from "./cpuset.js";
import { type DeviceFilterLoader, v2Devices } from "./devices.js";
import { readV2FreezerState, setV2Freezer } from "./freezer.js";
import { v2Hugetlb } from "./hugetlb.js";
import { v2Io } from "./io.js";
import { readV2OomKills, v2Memory } from "./memory.js";
import { v2Pids } from "./pids.js";
import { v2Rdma } from "./rdma.js";
import { unifiedController } from "./unified.js";

/**
 * The v2 controllers in runc's order; the device filter and `unified` are added per cgroup
 * (after these, so `unified` can override any of them).
 */
export const V2_CONTROLLERS: readonly Controller[] = [
  v2Pids,
  v2Memory,
  v2Io,
  v2Cpu,
  v2Cpuset,
  v2Hugetlb,
  v2Rdma,
];

/** Controllers that are not listed in `cgroup.controllers` (they are always there). */
const ALWAYS = new Set(["devices"]);

/** The spec field each v2 controller serves, for error messages. */
const FIELD: Readonly<Record<string, string>> = {
  pids: "pids",
  memory: "memory",
  io: "blockIO",
  cpu: "cpu",
  cpuset: "cpu.cpus/cpu.mems",
  hugetlb: "hugepageLimits",
  rdma: "rdma",
};

/** The controllers listed in `dir/cgroup.controllers`. */
export async function readControllers(dir: string): Promise<string[]> {
  return (await readCgroupFile(dir, "cgroup.controllers")).trim().split(/\s+/).filter(Boolean);
}

/**
 * Delegates every controller `dir` has to its children (`+x` in `cgroup.subtree_control`), as
 * runc does for each ancestor, so the container's cgroup can use them. A controller the kernel
 * refuses to delegate (e.g. a threaded subtree) is skipped rather than failing the rest.
 */
export async function enableSubtreeControllers(dir: string): Promise<void> {
  const available = await readControllers(dir);
  const enabled = new Set((await readCgroupFile(dir, "cgroup.subtree_control")).trim().split(/\s+/));
  const missing = available.filter((c) => !enabled.has(c));
  if (missing.length === 0) return;
  try {
    await writeCgroupFile(dir, "cgroup.subtree_control", missing.map((c) => `+${c}`).join(" "));
  } catch {
    for (const c of missing) await writeCgroupFile(dir, "cgroup.subtree_control", `+${c}`).catch(() => {});
  }
}

/** A container cgroup in a cgroup v2 tree. */
export class V2Cgroup implements Cgroup {
  readonly version = 2 as const;
  readonly paths: Readonly<Record<string, string>>;

  /** `mountPoint` is the cgroup2 mount, `dir` the container's directory below it. */
  constructor(
    readonly mode: CgroupMode,
    readonly path: string,
    private readonly mountPoint: string,
    private readonly dir: string,
    readonly notes: string[],
    private readonly delegate = true,
    private readonly deviceLoader?: DeviceFilterLoader,
  ) {
    this.paths = { unified: dir };
  }

  async create(): Promise<void> {
    const rel = relative(this.mountPoint, this.dir);
    if (rel === "" || rel.startsWith("..")) {
      throw new CgroupError("INVALID_PATH", `${this.dir} is not below the cgroup2 mount ${this.mountPoint}`);
    }
    let created: string | undefined;
    try {
      created = mkdirSync(this.dir, { recursive: true });
      if (this.delegate) {
        // The directory is below the mount (checked above), so this walk ends at the mount.
        const ancestors: string[] = [];
        for (let d = dirname(this.dir); ; d = dirname(d)) {
          ancestors.unshift(d);
          if (d === this.mountPoint || d === "/") break;
        }
        for (const a of ancestors) await enableSubtreeControllers(a);
      }
    } catch (err) {
      if (created) await removeCgroupDir(created).catch(() => {});
      if (err instanceof CgroupError) throw err;
      throw new CgroupError("WRITE_FAILED", `cannot create cgroup ${this.dir}: ${err}`, { cause: err });
    }
  }

  async apply(resources: LinuxResources): Promise<void> {
    await this.write(resources, { notes: this.notes, update: false });
  }

  async update(resources: LinuxResources): Promise<void> {
    await this.write(resources, { notes: this.notes, update: true });
  }

  private async write(r: LinuxResources, ctx: ApplyContext): Promise<void> {
    if (r.network?.classID !== undefined || (r.network?.priorities?.length ?? 0) > 0) {
      throw new CgroupError(
        "UNSUPPORTED",
        "linux.resources.network: net_cls/net_prio do not exist on cgroup v2",
      );
    }
    const enabled = await readControllers(this.dir);
    for (const c of [...V2_CONTROLLERS, v2Devices(this.deviceLoader), unifiedController(enabled)]) {
      if (!c.needed(r)) continue;
      if (c.name !== "unified" && !ALWAYS.has(c.name) && !enabled.includes(c.name)) {
        throw new CgroupError(
          "UNSUPPORTED",
          `linux.resources.${FIELD[c.name] ?? c.name}: the ${c.name} controller is not enabled for ${this.dir} (enabled: ${enabled.join(" ") || "none"})`,
        );
      }
      await c.apply(this.dir, r, ctx);
    }
  }

  async addProcess(pid: number): Promise<void> {
    if (!Number.isInteger(pid) || pid <= 0) throw new CgroupError("INVALID_PATH", `invalid pid ${pid}`);
    await writeCgroupFile(this.dir, "cgroup.procs", String(pid));
  }

  processes(): Promise<number[]> {
    return listProcesses(this.dir);
  }

  freeze(): Promise<void> {
    return setV2Freezer(this.dir, true);
  }

  thaw(): Promise<void> {
    return setV2Freezer(this.dir, false);
  }

  state(): Promise<FreezerState> {
    return readV2FreezerState(this.dir);
  }

  async stats(): Promise<CgroupStats> {
    const out = emptyStats();
    for (const c of V2_CONTROLLERS) if (c.stats) await c.stats(this.dir, out);
    await addPsi(this.dir, out);
    return out;
  }

  oomKillCount(): Promise<number> {
    return readV2OomKills(this.dir);
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    return killCgroup(this, signal, this.dir);
  }

  exists(): Promise<boolean> {
    return cgroupFileExists(this.dir, "cgroup.procs");
  }

  async destroy(): Promise<void> {
    await removeCgroupDir(this.dir);
  }
}
