/** The cgroup v1 implementation of {@link Cgroup}: one directory per mounted hierarchy. */
import { mkdirSync } from "node:fs";
import type { LinuxResources } from "../../../oci/runtime-spec/resources.js";
import type { Cgroup } from "../cgroup.js";
import type { ApplyContext, Controller } from "../controller.js";
import { CgroupError } from "../error.js";
import type { FreezerState } from "../freezer.js";
import { cgroupFileExists, writeCgroupFile } from "../fs.js";
import { killCgroup } from "../kill.js";
import type { CgroupMode } from "../mountinfo.js";
import { addPsi } from "../psi.js";
import { listProcesses, removeCgroupDir } from "../remove.js";
import { type CgroupStats, emptyStats } from "../stats.js";
import { v1Blkio } from "./blkio.js";
import { v1Cpu } from "./cpu.js";
import { v1Cpuacct } from "./cpuacct.js";
import { inheritCpuset, v1Cpuset } from "./cpuset.js";
import { v1Devices } from "./devices.js";
import { readV1FreezerState, setV1Freezer } from "./freezer.js";
import { v1Hugetlb } from "./hugetlb.js";
import { readV1OomKills, v1Memory } from "./memory.js";
import { v1NetCls } from "./net_cls.js";
import { v1NetPrio } from "./net_prio.js";
import { pidsController } from "./pids.js";
import { rdmaController } from "./rdma.js";

/**
 * The v1 controllers in runc's order (cpuset first so a later failure leaves no task in an
 * empty cpuset; devices early so access is restricted before limits are tuned).
 */
export const V1_CONTROLLERS: readonly Controller[] = [
  v1Cpuset,
  v1Devices,
  v1Memory,
  v1Cpu,
  v1Cpuacct,
  pidsController,
  v1Blkio,
  v1Hugetlb,
  v1NetCls,
  v1NetPrio,
  rdmaController,
];

/** The spec field each v1 controller serves, for error messages. */
const FIELD: Readonly<Record<string, string>> = {
  cpuset: "cpu.cpus/cpu.mems",
  devices: "devices",
  memory: "memory",
  cpu: "cpu",
  pids: "pids",
  blkio: "blockIO",
  hugetlb: "hugepageLimits",
  net_cls: "network.classID",
  net_prio: "network.priorities",
  rdma: "rdma",
};

/** Where one hierarchy is and where the container's directory goes in it. */
export interface V1Hierarchy {
  /** Subsystem (`memory`, `name=systemd`) or `unified` for the hybrid cgroup2 mount. */
  name: string;
  mountPoint: string;
  dir: string;
}

/** A container cgroup on a legacy or hybrid host. */
export class V1Cgroup implements Cgroup {
  readonly version = 1 as const;
  readonly paths: Readonly<Record<string, string>>;
  private dirs: V1Hierarchy[];

  /** `hierarchies` come from `openCgroup`, which resolves the path in every mount. */
  constructor(
    readonly mode: CgroupMode,
    readonly path: string,
    hierarchies: readonly V1Hierarchy[],
    readonly notes: string[],
  ) {
    this.paths = Object.fromEntries(hierarchies.map((h) => [h.name, h.dir]));
    // Co-mounted subsystems (cpu,cpuacct) share one directory; act on it once.
    const seen = new Set<string>();
    this.dirs = hierarchies.filter((h) => !seen.has(h.dir) && seen.add(h.dir));
  }

  async create(): Promise<void> {
    const created: string[] = [];
    try {
      for (const h of [...this.dirs]) {
        let first: string | undefined;
        try {
          first = mkdirSync(h.dir, { recursive: true });
        } catch (err) {
          // On hybrid hosts the cgroup2 tree only tracks processes; a read-only or
          // delegated-away unified mount must not stop the container (limits are all v1).
          if (h.name !== "unified") throw err;
          this.notes.push(
            `cannot create ${h.dir} (${(err as NodeJS.ErrnoException).code}): using cgroup v1 only`,
          );
          this.dirs = this.dirs.filter((d) => d !== h);
          continue;
        }
        if (first) created.push(first);
        if (h.name === "cpuset" || this.paths.cpuset === h.dir) await inheritCpuset(h.mountPoint, h.dir);
      }
    } catch (err) {
      for (const dir of created.reverse()) await removeCgroupDir(dir).catch(() => {});
      if (err instanceof CgroupError) throw err;
      throw new CgroupError("WRITE_FAILED", `cannot create cgroup ${this.path}: ${err}`, { cause: err });
    }
  }

  async apply(resources: LinuxResources): Promise<void> {
    await this.write(resources, { notes: this.notes, update: false });
  }

  async update(resources: LinuxResources): Promise<void> {
    await this.write(resources, { notes: this.notes, update: true });
  }

  private async write(r: LinuxResources, ctx: ApplyContext): Promise<void> {
    if (r.unified && Object.keys(r.unified).length > 0) {
      throw new CgroupError("UNSUPPORTED", "linux.resources.unified: cannot be used on cgroup v1 hosts");
    }
    for (const c of V1_CONTROLLERS) {
      if (!c.needed(r)) continue;
      const dir = this.paths[c.name];
      if (!dir) {
        throw new CgroupError(
          "UNSUPPORTED",
          `linux.resources.${FIELD[c.name] ?? c.name}: the ${c.name} cgroup controller is not mounted on this host`,
        );
      }
      await c.apply(dir, r, ctx);
    }
  }

  async addProcess(pid: number): Promise<void> {
    if (!Number.isInteger(pid) || pid <= 0) throw new CgroupError("INVALID_PATH", `invalid pid ${pid}`);
    for (const h of this.dirs) await writeCgroupFile(h.dir, "cgroup.procs", String(pid));
  }

  async processes(): Promise<number[]> {
    const dir = this.paths.freezer ?? this.paths.pids ?? this.dirs[0]?.dir;
    return dir ? listProcesses(dir) : [];
  }

  private freezerDir(): string {
    const dir = this.paths.freezer;
    if (!dir)
      throw new CgroupError("UNSUPPORTED", "the freezer cgroup controller is not mounted on this host");
    return dir;
  }

  async freeze(): Promise<void> {
    await setV1Freezer(this.freezerDir(), true);
  }

  async thaw(): Promise<void> {
    await setV1Freezer(this.freezerDir(), false);
  }

  async state(): Promise<FreezerState> {
    return readV1FreezerState(this.freezerDir());
  }

  async stats(): Promise<CgroupStats> {
    const out = emptyStats();
    for (const c of V1_CONTROLLERS) {
      const dir = this.paths[c.name];
      if (dir && c.stats) await c.stats(dir, out);
    }
    // Hybrid hosts keep pressure information in the unified tree.
    if (this.paths.unified) await addPsi(this.paths.unified, out);
    return out;
  }

  async oomKillCount(): Promise<number> {
    return this.paths.memory ? readV1OomKills(this.paths.memory) : 0;
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    return killCgroup(this, signal, this.paths.unified);
  }

  async exists(): Promise<boolean> {
    for (const h of this.dirs) if (!(await cgroupFileExists(h.dir, "cgroup.procs"))) return false;
    return true;
  }

  async destroy(): Promise<void> {
    for (const h of this.dirs) await removeCgroupDir(h.dir);
  }
}
