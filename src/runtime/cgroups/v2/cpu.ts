/** cgroup v2 `cpu` controller: weight (from shares), cpu.max, burst, idle, usage and throttling stats. */
import type { LinuxCPU, LinuxResources } from "../../../oci/runtime-spec/resources.js";
import type { Controller } from "../controller.js";
import { sharesToWeight } from "../convert.js";
import { CgroupError } from "../error.js";
import { type CgroupWrite, parseFlatKeyed, readOptional, writeAll, writeCgroupFile } from "../fs.js";
import { cpuNeeded } from "../v1/cpu.js";

/**
 * Decides the v2 cpu writes. `cpu.max` is `"<quota|max> [period]"` as runc writes it: a
 * non-positive quota means `max`. Realtime fields have no v2 file: `UNSUPPORTED`.
 * `cpu.max.burst` is returned apart, since its order against `cpu.max` depends on the old values.
 */
export function planV2Cpu(c: LinuxCPU): { writes: CgroupWrite[]; burst?: CgroupWrite } {
  if (c.realtimeRuntime || c.realtimePeriod) {
    throw new CgroupError(
      "UNSUPPORTED",
      "linux.resources.cpu.realtimeRuntime/realtimePeriod: not supported on cgroup v2",
    );
  }
  const writes: CgroupWrite[] = [];
  if (c.idle !== undefined) writes.push({ file: "cpu.idle", value: String(c.idle) });
  if (c.shares) writes.push({ file: "cpu.weight", value: String(sharesToWeight(c.shares)) });
  if (c.quota || c.period) {
    let max = c.quota && c.quota > 0 ? String(c.quota) : "max";
    if (c.period) max += ` ${c.period}`;
    writes.push({ file: "cpu.max", value: max });
  }
  const plan: { writes: CgroupWrite[]; burst?: CgroupWrite } = { writes };
  if (c.burst !== undefined) plan.burst = { file: "cpu.max.burst", value: String(c.burst) };
  return plan;
}

/** The v2 cpu controller. Its stats come from `cpu.stat`, which exists even without the controller. */
export const v2Cpu: Controller = {
  name: "cpu",
  needed: (r: LinuxResources) => cpuNeeded(r.cpu),
  async apply(dir, r) {
    if (!cpuNeeded(r.cpu)) return;
    const { writes, burst } = planV2Cpu(r.cpu);
    // A burst above the old quota is refused before cpu.max changes, one above the old burst
    // cap after: try before, and once more after cpu.max (as runc).
    let burstDone = false;
    if (burst) {
      burstDone = await writeCgroupFile(dir, burst.file, burst.value).then(
        () => true,
        () => false,
      );
    }
    await writeAll(dir, writes);
    if (burst && !burstDone) await writeCgroupFile(dir, burst.file, burst.value);
  },
  async stats(dir, out) {
    const text = await readOptional(dir, "cpu.stat");
    if (text === undefined) return;
    const s = parseFlatKeyed(text);
    out.cpu.usage.total = (s.usage_usec ?? 0) * 1000;
    out.cpu.usage.user = (s.user_usec ?? 0) * 1000;
    out.cpu.usage.kernel = (s.system_usec ?? 0) * 1000;
    if (s.nr_periods !== undefined) {
      out.cpu.throttling = {
        periods: s.nr_periods,
        throttledPeriods: s.nr_throttled ?? 0,
        throttledTime: (s.throttled_usec ?? 0) * 1000,
      };
    }
  },
};
