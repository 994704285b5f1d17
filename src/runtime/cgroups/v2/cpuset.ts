/** cgroup v2 `cpuset` controller: same files as v1, but v2 inherits, so no copy-down. */
import type { Controller } from "../controller.js";
import { parseCpuList } from "../convert.js";
import { readOptional, writeAll } from "../fs.js";
import { planCpuset } from "../v1/cpuset.js";

/** The v2 cpuset controller; stats report the effective sets. */
export const v2Cpuset: Controller = {
  name: "cpuset",
  needed: (r) => planCpuset(r).length > 0,
  async apply(dir, r) {
    await writeAll(dir, planCpuset(r));
  },
  async stats(dir, out) {
    const cpus = await readOptional(dir, "cpuset.cpus.effective");
    const mems = await readOptional(dir, "cpuset.mems.effective");
    if (cpus !== undefined) out.cpuset.cpus = parseCpuList(cpus);
    if (mems !== undefined) out.cpuset.mems = parseCpuList(mems);
  },
};
