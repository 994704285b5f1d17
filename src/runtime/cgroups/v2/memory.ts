/** cgroup v2 `memory` controller: memory.max/low/swap.max with v1-compatible swap meaning, stats, OOM count. */
import type { LinuxMemory, LinuxResources } from "../../../oci/runtime-spec/resources.js";
import type { Controller } from "../controller.js";
import { memorySwapToV2, v2Limit } from "../convert.js";
import { CgroupError } from "../error.js";
import {
  type CgroupWrite,
  cgroupFileExists,
  parseCgroupNumber,
  parseFlatKeyed,
  readCgroupFile,
  readOptional,
  UINT64_MAX,
  writeAll,
} from "../fs.js";
import type { MemoryEntry } from "../stats.js";

/** What {@link planV2Memory} needs to know of the cgroup as it is now. */
export interface V2MemoryState {
  /** `memory.current`. */
  usage: number;
  /** Whether `memory.swap.max` exists (swap accounting on). */
  swapFile: boolean;
}

/**
 * Decides the v2 memory writes: swap first (runc's order), then `memory.max` and `memory.low`.
 * v2 would OOM-kill rather than refuse a limit below usage, so `checkBeforeUpdate` refuses it
 * here with `LIMIT_BELOW_USAGE`. v1-only fields are noted and skipped.
 */
export function planV2Memory(m: LinuxMemory, state: V2MemoryState, notes: string[]): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const swap = memorySwapToV2(m.swap, m.limit);
  if (swap !== undefined && swap !== 0) {
    if (state.swapFile) w.push({ file: "memory.swap.max", value: v2Limit(swap) });
    else if (swap !== -1) {
      throw new CgroupError("UNSUPPORTED", "memory.swap: swap accounting is off (no memory.swap.max)");
    }
  }
  if (m.limit) {
    if (m.checkBeforeUpdate && m.limit > 0 && m.limit < state.usage) {
      throw new CgroupError(
        "LIMIT_BELOW_USAGE",
        `memory.limit: ${m.limit} is below the current usage ${state.usage} (checkBeforeUpdate)`,
      );
    }
    w.push({ file: "memory.max", value: v2Limit(m.limit) });
  }
  if (m.reservation) w.push({ file: "memory.low", value: v2Limit(m.reservation) });
  if (m.kernel) notes.push("memory.kernel is ignored: cgroup v2 has no separate kernel memory limit");
  if (m.kernelTCP) notes.push("memory.kernelTCP is ignored: cgroup v2 has no separate TCP memory limit");
  if (m.swappiness !== undefined)
    notes.push("memory.swappiness is ignored: cgroup v2 has no per-cgroup swappiness");
  if (m.disableOOMKiller)
    notes.push("memory.disableOOMKiller is ignored: cgroup v2 cannot disable the OOM killer");
  return w;
}

async function entry(dir: string, prefix: string): Promise<MemoryEntry | undefined> {
  const current = await readOptional(dir, `${prefix}.current`);
  if (current === undefined) return undefined;
  const max = await readOptional(dir, `${prefix}.max`);
  const peak = await readOptional(dir, `${prefix}.peak`);
  const events = parseFlatKeyed((await readOptional(dir, `${prefix}.events`)) ?? "");
  const e: MemoryEntry = {
    usage: parseCgroupNumber(current),
    limit: max === undefined ? UINT64_MAX : parseCgroupNumber(max),
    failcnt: events.max ?? 0,
  };
  if (peak !== undefined) e.max = parseCgroupNumber(peak);
  return e;
}

/** The v2 memory controller. */
export const v2Memory: Controller = {
  name: "memory",
  needed: (r: LinuxResources) => r.memory !== undefined && Object.keys(r.memory).length > 0,
  async apply(dir, r, ctx) {
    if (!r.memory) return;
    const state: V2MemoryState = {
      usage: parseCgroupNumber(await readCgroupFile(dir, "memory.current")),
      swapFile: await cgroupFileExists(dir, "memory.swap.max"),
    };
    await writeAll(dir, planV2Memory(r.memory, state, ctx.notes));
  },
  async stats(dir, out) {
    const usage = await entry(dir, "memory");
    if (!usage) return;
    const raw = parseFlatKeyed(await readCgroupFile(dir, "memory.stat"));
    const swap = (await entry(dir, "memory.swap")) ?? { limit: 0, failcnt: 0 };
    // v1 reports swap as memory+swap; runc keeps that meaning on v2, and so does pier.
    swap.usage = (swap.usage ?? 0) + (usage.usage ?? 0);
    if (swap.limit !== UINT64_MAX && usage.limit !== UINT64_MAX) swap.limit += usage.limit;
    else swap.limit = UINT64_MAX;
    out.memory = { ...out.memory, cache: raw.file ?? 0, usage, swap, raw };
  },
};

/** OOM kills so far, from `memory.events` (0 when the memory controller is not enabled). */
export async function readV2OomKills(dir: string): Promise<number> {
  const text = await readOptional(dir, "memory.events");
  return text === undefined ? 0 : (parseFlatKeyed(text).oom_kill ?? 0);
}
