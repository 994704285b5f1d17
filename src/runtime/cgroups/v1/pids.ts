/** cgroup `pids` controller (v1 and v2 share the files `pids.max` and `pids.current`). */
import type { LinuxResources } from "../../../oci/runtime-spec/resources.js";
import type { Controller } from "../controller.js";
import { parseCgroupNumber, readCgroupFile, UINT64_MAX, writeCgroupFile } from "../fs.js";

/**
 * The `pids.max` value for a spec limit: a positive limit as is, `-1` and `0` mean `max`
 * (runc's reading, which the pier runtime follows for compatibility).
 */
export function pidsMaxValue(limit: number): string {
  return limit > 0 ? String(limit) : "max";
}

/** The pids controller (same files in v1 and v2). */
export const pidsController: Controller = {
  name: "pids",
  needed: (r: LinuxResources) => r.pids?.limit !== undefined,
  async apply(dir, r) {
    if (r.pids?.limit === undefined) return;
    await writeCgroupFile(dir, "pids.max", pidsMaxValue(r.pids.limit));
  },
  async stats(dir, out) {
    const max = parseCgroupNumber(await readCgroupFile(dir, "pids.max"));
    // runc reports "no limit" as 0.
    out.pids = {
      current: parseCgroupNumber(await readCgroupFile(dir, "pids.current")),
      limit: max === UINT64_MAX ? 0 : max,
    };
  },
};
