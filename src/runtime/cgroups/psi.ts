/**
 * Pressure stall information (`cpu.pressure`, `memory.pressure`, `io.pressure`, cgroup v2 and
 * the unified tree of hybrid hosts), in runc's stats shape.
 */
import { readOptional } from "./fs.js";
import type { CgroupStats, PsiStats } from "./stats.js";

/** Parses a `*.pressure` file; `undefined` when it has no `some` line. */
export function parsePsi(text: string): PsiStats | undefined {
  const out: Partial<PsiStats> = {};
  for (const line of text.split("\n")) {
    const [kind, ...pairs] = line.trim().split(/\s+/);
    if (kind !== "some" && kind !== "full") continue;
    const data = { avg10: 0, avg60: 0, avg300: 0, total: 0 };
    for (const pair of pairs) {
      const [k, v] = pair.split("=");
      if (k === "avg10" || k === "avg60" || k === "avg300" || k === "total") data[k] = Number(v);
    }
    out[kind] = data;
  }
  return out.some ? (out as PsiStats) : undefined;
}

/** Adds the pressure of the cgroup directory `dir` to `out` (files that are missing are skipped). */
export async function addPsi(dir: string, out: CgroupStats): Promise<void> {
  const read = async (file: string) => {
    const text = await readOptional(dir, file).catch(() => undefined);
    return text === undefined ? undefined : parsePsi(text);
  };
  const cpu = await read("cpu.pressure");
  const memory = await read("memory.pressure");
  const io = await read("io.pressure");
  if (cpu) out.cpu.psi = cpu;
  if (memory) out.memory.psi = memory;
  if (io) out.blkio.psi = io;
}
