/**
 * The shape every per-controller module has, for both cgroup versions: it decides whether a
 * `linux.resources` object concerns it, applies its slice of it, and fills its part of the stats.
 */
import type { LinuxResources } from "../../oci/runtime-spec/resources.js";
import type { CgroupStats } from "./stats.js";

/** What a controller's `apply` may consult or report besides its directory. */
export interface ApplyContext {
  /** Decisions to surface to the user (ignored fields, conversions); appended to. */
  notes: string[];
  /** True for `update` (a running container), false for the first apply after `create`. */
  update: boolean;
}

/** One controller (v1 subsystem or v2 controller) of one cgroup version. */
export interface Controller {
  /** The v1 subsystem (`memory`, `name=systemd`) or v2 controller name. */
  readonly name: string;
  /** True when `resources` asks something of this controller. Pure. */
  needed(resources: LinuxResources): boolean;
  /** Writes this controller's part of `resources` into `dir`. */
  apply(dir: string, resources: LinuxResources, ctx: ApplyContext): Promise<void>;
  /** Adds this controller's statistics from `dir` to `out`. */
  stats?(dir: string, out: CgroupStats): Promise<void>;
}
