/** cgroup v1 `cpuacct` controller: CPU usage statistics only (it has nothing to set). */
import type { Controller } from "../controller.js";
import { ticksToNanoseconds } from "../convert.js";
import { parseFlatKeyed, readCgroupFile, readOptional } from "../fs.js";

function numbers(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

/** The v1 cpuacct controller. */
export const v1Cpuacct: Controller = {
  name: "cpuacct",
  needed: () => false,
  async apply() {},
  async stats(dir, out) {
    const usage = out.cpu.usage;
    usage.total = Number((await readCgroupFile(dir, "cpuacct.usage")).trim());
    const percpu = numbers(await readOptional(dir, "cpuacct.usage_percpu"));
    const percpuUser = numbers(await readOptional(dir, "cpuacct.usage_percpu_user"));
    const percpuSys = numbers(await readOptional(dir, "cpuacct.usage_percpu_sys"));
    if (percpu) usage.percpu = percpu;
    if (percpuUser) usage.percpu_user = percpuUser;
    if (percpuSys) usage.percpu_kernel = percpuSys;
    // runc reports user/kernel from cpuacct.stat's clock ticks; do the same so numbers match.
    const stat = parseFlatKeyed(await readCgroupFile(dir, "cpuacct.stat"));
    usage.user = ticksToNanoseconds(stat.user ?? 0);
    usage.kernel = ticksToNanoseconds(stat.system ?? 0);
  },
};
