/** cgroup v1 `cpu` controller: shares, CFS quota/period/burst, realtime budget, idle, throttling stats. */
import type { LinuxCPU, LinuxResources } from "../../../oci/runtime-spec/resources.js";
import type { Controller } from "../controller.js";
import { CgroupError } from "../error.js";
import {
  type CgroupWrite,
  parseFlatKeyed,
  readCgroupFile,
  readOptional,
  writeAll,
  writeCgroupFile,
} from "../fs.js";

/**
 * Decides the v1 cpu writes. Period goes before quota (the usual safe order); the manager
 * retries the other order when the kernel refuses the period against the old quota.
 */
export function planV1Cpu(c: LinuxCPU): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  if (c.shares) w.push({ file: "cpu.shares", value: String(c.shares) });
  if (c.period) w.push({ file: "cpu.cfs_period_us", value: String(c.period) });
  if (c.quota) w.push({ file: "cpu.cfs_quota_us", value: String(c.quota) });
  if (c.burst !== undefined) w.push({ file: "cpu.cfs_burst_us", value: String(c.burst) });
  if (c.realtimePeriod) w.push({ file: "cpu.rt_period_us", value: String(c.realtimePeriod) });
  if (c.realtimeRuntime) w.push({ file: "cpu.rt_runtime_us", value: String(c.realtimeRuntime) });
  if (c.idle !== undefined) w.push({ file: "cpu.idle", value: String(c.idle) });
  return w;
}

/**
 * True when `c` sets anything a cpu controller writes (v1 or v2, which share this test; v2
 * then refuses the realtime fields it has no file for). Pure.
 */
export function cpuNeeded(c: LinuxCPU | undefined): c is LinuxCPU {
  if (!c) return false;
  return Boolean(
    c.shares ||
      c.period ||
      c.quota ||
      c.burst !== undefined ||
      c.realtimePeriod ||
      c.realtimeRuntime ||
      c.idle !== undefined,
  );
}

/** The v1 cpu controller. */
export const v1Cpu: Controller = {
  name: "cpu",
  needed: (r: LinuxResources) => cpuNeeded(r.cpu),
  async apply(dir, r) {
    if (!cpuNeeded(r.cpu)) return;
    const c = r.cpu;
    const writes = planV1Cpu(c);
    try {
      await writeAll(dir, writes);
    } catch (err) {
      // A new period can be invalid against the old quota (and the other way round): the
      // kernel checks each write alone, so retry quota first.
      if (!(c.period && c.quota && (err as CgroupError).detail?.errno === "EINVAL")) throw err;
      await writeCgroupFile(dir, "cpu.cfs_quota_us", String(c.quota));
      await writeAll(
        dir,
        writes.filter((w) => w.file !== "cpu.cfs_quota_us"),
      );
    }
    if (c.shares) {
      // The kernel clamps shares silently; runc reports it, so the user is not misled.
      const actual = Number((await readCgroupFile(dir, "cpu.shares")).trim());
      if (actual !== c.shares) {
        throw new CgroupError(
          "UNSUPPORTED",
          `cpu.shares: the kernel set ${actual} instead of ${c.shares} (out of range)`,
        );
      }
    }
  },
  async stats(dir, out) {
    const text = await readOptional(dir, "cpu.stat");
    if (text === undefined) return;
    const s = parseFlatKeyed(text);
    out.cpu.throttling = {
      periods: s.nr_periods ?? 0,
      throttledPeriods: s.nr_throttled ?? 0,
      throttledTime: s.throttled_time ?? 0,
    };
  },
};
