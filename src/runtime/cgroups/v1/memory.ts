/** cgroup v1 `memory` controller: limits, swap (memsw), soft limit, OOM killer, stats. */
import type { LinuxMemory, LinuxResources } from "../../../oci/runtime-spec/resources.js";
import type { ApplyContext, Controller } from "../controller.js";
import { CgroupError } from "../error.js";
import {
  type CgroupWrite,
  cgroupFileExists,
  parseCgroupNumber,
  parseFlatKeyed,
  readCgroupFile,
  readOptional,
  writeCgroupFile,
} from "../fs.js";
import type { MemoryEntry, MemoryStats } from "../stats.js";

/** What {@link planV1Memory} needs to know of the cgroup as it is now. */
export interface V1MemoryState {
  /** Current `memory.limit_in_bytes`. */
  limit: number;
  /** Current `memory.usage_in_bytes`. */
  usage: number;
  /** Whether `memory.memsw.*` exists (swap accounting on). */
  swapAccounting: boolean;
}

/**
 * Decides the v1 memory writes, in an order the kernel accepts: memsw must stay >= the limit
 * at every step, so when swap grows past the current limit it is written first (as runc).
 * Throws `LIMIT_BELOW_USAGE` for `checkBeforeUpdate` and `UNSUPPORTED` for swap without memsw.
 */
export function planV1Memory(m: LinuxMemory, state: V1MemoryState, notes: string[]): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  const limit = m.limit;
  // Unlimited memory with no swap given means unlimited swap too, or memsw would cap it.
  const swap = limit === -1 && !m.swap ? -1 : m.swap;
  if (m.checkBeforeUpdate && limit !== undefined && limit > 0 && limit < state.usage) {
    throw new CgroupError(
      "LIMIT_BELOW_USAGE",
      `memory.limit: ${limit} is below the current usage ${state.usage} (checkBeforeUpdate)`,
    );
  }
  const limitWrite = limit ? { file: "memory.limit_in_bytes", value: String(limit) } : undefined;
  let swapWrite: CgroupWrite | undefined;
  if (swap) {
    if (state.swapAccounting) swapWrite = { file: "memory.memsw.limit_in_bytes", value: String(swap) };
    else if (swap !== -1) {
      throw new CgroupError(
        "UNSUPPORTED",
        "memory.swap: swap accounting is off (no memory.memsw.limit_in_bytes)",
      );
    }
  }
  if (limitWrite && swapWrite && (swap === -1 || state.limit < (swap as number)))
    writes.push(swapWrite, limitWrite);
  else {
    if (limitWrite) writes.push(limitWrite);
    if (swapWrite) writes.push(swapWrite);
  }
  if (m.reservation) writes.push({ file: "memory.soft_limit_in_bytes", value: String(m.reservation) });
  if (m.kernel) notes.push("memory.kernel is ignored: the kernel deprecated kernel memory limits");
  if (m.kernelTCP) writes.push({ file: "memory.kmem.tcp.limit_in_bytes", value: String(m.kernelTCP) });
  if (m.swappiness !== undefined) writes.push({ file: "memory.swappiness", value: String(m.swappiness) });
  if (m.disableOOMKiller) writes.push({ file: "memory.oom_control", value: "1" });
  return writes;
}

async function readEntry(dir: string, prefix: string): Promise<MemoryEntry> {
  const num = async (file: string) => {
    const text = await readOptional(dir, `${prefix}.${file}`);
    return text === undefined ? undefined : parseCgroupNumber(text, `${prefix}.${file}`);
  };
  const entry: MemoryEntry = {
    limit: (await num("limit_in_bytes")) ?? 0,
    failcnt: (await num("failcnt")) ?? 0,
  };
  const usage = await num("usage_in_bytes");
  const max = await num("max_usage_in_bytes");
  if (usage !== undefined) entry.usage = usage;
  if (max !== undefined) entry.max = max;
  return entry;
}

/** Reads the v1 memory statistics of `dir` (runc's shape). */
export async function readV1MemoryStats(dir: string): Promise<MemoryStats> {
  const raw = parseFlatKeyed(await readCgroupFile(dir, "memory.stat"));
  return {
    cache: raw.total_cache ?? raw.cache ?? 0,
    usage: await readEntry(dir, "memory"),
    swap: await readEntry(dir, "memory.memsw"),
    kernel: await readEntry(dir, "memory.kmem"),
    kernelTCP: await readEntry(dir, "memory.kmem.tcp"),
    raw,
  };
}

/** The number of OOM kills in the cgroup so far (`memory.oom_control` `oom_kill`). */
export async function readV1OomKills(dir: string): Promise<number> {
  return parseFlatKeyed(await readCgroupFile(dir, "memory.oom_control")).oom_kill ?? 0;
}

/** The v1 memory controller. */
export const v1Memory: Controller = {
  name: "memory",
  needed: (r: LinuxResources) => r.memory !== undefined && Object.keys(r.memory).length > 0,
  async apply(dir: string, r: LinuxResources, ctx: ApplyContext): Promise<void> {
    const m = r.memory;
    if (!m) return;
    const state: V1MemoryState = {
      limit: parseCgroupNumber(await readCgroupFile(dir, "memory.limit_in_bytes")),
      usage: parseCgroupNumber(await readCgroupFile(dir, "memory.usage_in_bytes")),
      swapAccounting: await cgroupFileExists(dir, "memory.memsw.limit_in_bytes"),
    };
    for (const w of planV1Memory(m, state, ctx.notes)) {
      try {
        await writeCgroupFile(dir, w.file, w.value);
      } catch (err) {
        // v1 refuses a limit below usage with EBUSY; say so in the user's terms.
        if (w.file === "memory.limit_in_bytes" && (err as CgroupError).detail?.errno === "EBUSY") {
          const usage = await readCgroupFile(dir, "memory.usage_in_bytes");
          throw new CgroupError(
            "LIMIT_BELOW_USAGE",
            `unable to set memory limit to ${w.value} (current usage: ${usage.trim()})`,
            { cause: err },
          );
        }
        throw err;
      }
    }
  },
  async stats(dir, out) {
    out.memory = await readV1MemoryStats(dir);
  },
};
