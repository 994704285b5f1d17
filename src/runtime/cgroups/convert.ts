/**
 * Pure translations between the runtime-spec values (which speak cgroup v1) and the files of
 * each cgroup version, with the same formulas as runc so both runtimes set the same numbers.
 */
import type { LinuxDeviceCgroup, LinuxRdma } from "../../oci/runtime-spec/resources.js";
import { CgroupError } from "./error.js";

/**
 * v1 `cpu.shares` (2..262144) to v2 `cpu.weight` (1..10000): `1 + ((shares - 2) * 9999) / 262142`
 * with integer division; `0` (unset) stays `0`. Out-of-range shares are clamped first, as the
 * kernel would clamp them.
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  const s = Math.min(Math.max(shares, 2), 262144);
  return 1 + Math.floor(((s - 2) * 9999) / 262142);
}

/** v1 `blkio.weight` (10..1000) to v2 `io.weight` (1..10000); `0` (unset) stays `0`. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  const w = Math.min(Math.max(weight, 10), 1000);
  return 1 + Math.floor(((w - 10) * 9999) / 990);
}

/**
 * The spec's `memory.swap` is memory+swap (v1 `memsw`); v2's `memory.swap.max` is swap alone.
 * Returns the v2 value: `-1` for `max`, `0`/`undefined` for "leave as is", else `swap - limit`.
 * Unlimited memory with no swap given means unlimited swap too (as runc). Throws `UNSUPPORTED`
 * for a swap without a memory limit or smaller than it.
 */
export function memorySwapToV2(swap: number | undefined, limit: number | undefined): number | undefined {
  if (limit === -1 && (swap === undefined || swap === 0)) return -1;
  if (swap === undefined || swap === 0 || swap === -1) return swap;
  if (limit === undefined || limit === 0 || limit === -1) {
    throw new CgroupError("UNSUPPORTED", "memory.swap: cannot limit swap without a memory limit");
  }
  if (swap < limit) {
    throw new CgroupError(
      "UNSUPPORTED",
      `memory.swap (${swap}) must be >= memory.limit (${limit}): it counts memory+swap`,
    );
  }
  return swap - limit;
}

/** A v2 limit value: negative means `max`. */
export function v2Limit(n: number): string {
  return n < 0 ? "max" : String(n);
}

/**
 * The v1 `devices.allow`/`devices.deny` line of a rule: `type major:minor access`, `*` for an
 * absent or negative number, `a` and `rwm` when unset.
 */
export function v1DeviceRule(rule: LinuxDeviceCgroup): string {
  const num = (n: number | undefined) => (n === undefined || n < 0 ? "*" : String(n));
  const type = rule.type ?? "a";
  const access = rule.access ? rule.access : "rwm";
  // The kernel reads a bare "a" as "everything"; adding numbers would be rejected for type a.
  if (type === "a") return "a";
  return `${type} ${num(rule.major)}:${num(rule.minor)} ${access}`;
}

/** Parses a cpu/mem list such as `0-3,7` into its sorted numbers (for `cpuset` stats). */
export function parseCpuList(list: string): number[] {
  const out = new Set<number>();
  for (const part of list.trim().split(",")) {
    if (part === "") continue;
    const [a, b] = part.split("-");
    const lo = Number(a);
    const hi = b === undefined ? lo : Number(b);
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) {
      throw new CgroupError("READ_FAILED", `invalid cpu list ${JSON.stringify(list)}`);
    }
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/** Clock ticks per second of `cpuacct.stat` (USER_HZ, 100 on every Linux architecture). */
export const USER_HZ = 100;

/** Converts `cpuacct.stat` clock ticks to nanoseconds, as runc reports them. */
export function ticksToNanoseconds(ticks: number): number {
  return Math.round((ticks * 1e9) / USER_HZ);
}

/** The `rdma.max` lines (same format in v1 and v2): `mlx5_1 hca_handle=3 hca_object=10000`. */
export function rdmaLines(rdma: Record<string, LinuxRdma>): string[] {
  return Object.entries(rdma).map(([device, l]) => {
    let line = device;
    if (l.hcaHandles !== undefined) line += ` hca_handle=${l.hcaHandles}`;
    if (l.hcaObjects !== undefined) line += ` hca_object=${l.hcaObjects}`;
    return line;
  });
}
