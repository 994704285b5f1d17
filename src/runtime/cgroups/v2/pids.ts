/** cgroup v2 `pids` controller: the v1 files, plus a process count when the controller is off. */
import type { Controller } from "../controller.js";
import { cgroupFileExists } from "../fs.js";
import { listProcesses } from "../remove.js";
import { pidsController } from "../v1/pids.js";

/** The v2 pids controller. */
export const v2Pids: Controller = {
  name: "pids",
  needed: pidsController.needed,
  apply: pidsController.apply,
  async stats(dir, out) {
    if (await cgroupFileExists(dir, "pids.current")) return pidsController.stats?.(dir, out);
    // Without the controller the kernel does not count; the processes listed are the count.
    out.pids = { current: (await listProcesses(dir)).length, limit: 0 };
  },
};
