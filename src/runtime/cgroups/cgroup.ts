/** The interface of one container's cgroup, whatever the cgroup version underneath. */
import type { LinuxResources } from "../../oci/runtime-spec/resources.js";
import type { FreezerState } from "./freezer.js";
import type { CgroupMode } from "./mountinfo.js";
import type { CgroupStats } from "./stats.js";

/**
 * One container's cgroup, in every hierarchy the host has (one per v1 controller, or the single
 * v2 tree). Obtained from `openCgroup`; opening touches nothing, `create` makes directories.
 *
 * Typical runtime use: `create()`, `apply(config.linux.resources)`, `addProcess(initPid)`;
 * `freeze()`/`thaw()` for pause/resume; `stats()`/`oomKillCount()` for events;
 * `update(resources)` for `update`; after the processes are gone, `destroy()`.
 */
export interface Cgroup {
  /** 1 for v1 (legacy and hybrid hosts), 2 for a unified host. */
  readonly version: 1 | 2;
  readonly mode: CgroupMode;
  /**
   * The absolute cgroup path inside each hierarchy, e.g. `/pier/abc` (what `/proc/<pid>/cgroup`
   * shows). Only when a relative `cgroupsPath` lands at different places in different v1
   * hierarchies is it the relative path; store `paths` to find the cgroup again in any case.
   */
  readonly path: string;
  /**
   * Directory per controller (`memory`, `cpu`, …, `name=systemd`, and `unified` for v2/hybrid).
   * Pass it back as `openCgroup({ containerId, paths })` to reopen this cgroup later.
   */
  readonly paths: Readonly<Record<string, string>>;
  /** Decisions worth telling the user (driver fallback, ignored fields); grows as calls run. */
  readonly notes: string[];
  /**
   * Creates the directories (idempotent), prepares them so a task can join (v1 cpuset copy-down,
   * v2 controller delegation in every ancestor). On failure removes what it created.
   */
  create(): Promise<void>;
  /**
   * Writes `resources` (validated with `validateLinuxResources`). Throws `UNSUPPORTED` when the
   * host lacks a needed controller or the field has no meaning on this version (`unified` on v1),
   * `WRITE_FAILED` when the kernel refuses a value. Fields left out are left as they are.
   */
  apply(resources: LinuxResources): Promise<void>;
  /** Like `apply`, for a running container (`pier-runtime update`). */
  update(resources: LinuxResources): Promise<void>;
  /** Moves a process (all its threads) into the cgroup in every hierarchy. */
  addProcess(pid: number): Promise<void>;
  /** The pids in the cgroup and its children, sorted. */
  processes(): Promise<number[]>;
  /** Freezes every process; returns once the kernel reports frozen (or throws `FREEZE_TIMEOUT`). */
  freeze(): Promise<void>;
  /** Thaws; returns once the kernel reports thawed. */
  thaw(): Promise<void>;
  state(): Promise<FreezerState>;
  /** Statistics in the shape of runc's `events --stats` `data`. */
  stats(): Promise<CgroupStats>;
  /** OOM kills inside the cgroup since creation; poll it (see `watchOom`) to notice new ones. */
  oomKillCount(): Promise<number>;
  /**
   * Sends `signal` (default SIGKILL) to every process in the cgroup without racing forks
   * (`cgroup.kill` where the kernel has it, else freeze, signal, thaw). For `kill --all` and
   * `delete --force`; returns without waiting for the processes to exit.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** True when the cgroup directory exists in every hierarchy. */
  exists(): Promise<boolean>;
  /**
   * Removes the cgroup (and child cgroups) in every hierarchy. Never kills: the caller stops the
   * processes first; a cgroup still busy after brief retries gives `BUSY`. Absent is success.
   */
  destroy(): Promise<void>;
}
