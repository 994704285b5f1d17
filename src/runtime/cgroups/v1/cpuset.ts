/** cgroup v1 `cpuset` controller: cpus and mems, and the copy-down a new v1 cpuset needs. */
import { dirname, relative } from "node:path";
import type { LinuxResources } from "../../../oci/runtime-spec/resources.js";
import type { Controller } from "../controller.js";
import { parseCpuList } from "../convert.js";
import { type CgroupWrite, readCgroupFile, readOptional, writeAll, writeCgroupFile } from "../fs.js";
import type { CpusetStats } from "../stats.js";

/** The v1 cpuset flag files runc reports in its stats, named as the JSON keys. */
const CPUSET_FLAGS = [
  "cpu_exclusive",
  "mem_hardwall",
  "mem_exclusive",
  "memory_migrate",
  "memory_spread_page",
  "memory_spread_slab",
  "memory_pressure",
  "sched_load_balance",
  "sched_relax_domain_level",
] as const;

/** Decides the cpuset writes; an empty list means "inherit" and is not written. */
export function planCpuset(r: LinuxResources): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  if (r.cpu?.cpus) w.push({ file: "cpuset.cpus", value: r.cpu.cpus });
  if (r.cpu?.mems) w.push({ file: "cpuset.mems", value: r.cpu.mems });
  return w;
}

/**
 * A new v1 cpuset starts with empty `cpus` and `mems`, and a task cannot join it (ENOSPC).
 * Copies the parent's values down every level from `mountPoint` to `dir` where they are empty,
 * as runc does on create.
 */
export async function inheritCpuset(mountPoint: string, dir: string): Promise<void> {
  const chain: string[] = [];
  for (
    let d = dir;
    relative(mountPoint, d) !== "" && !relative(mountPoint, d).startsWith("..");
    d = dirname(d)
  ) {
    chain.unshift(d);
  }
  for (const d of chain) {
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      if ((await readCgroupFile(d, file)).trim() === "") {
        await writeCgroupFile(d, file, (await readCgroupFile(dirname(d), file)).trim());
      }
    }
  }
}

/** The cpuset controller of v1 (the v2 files have the same names and formats). */
export const v1Cpuset: Controller = {
  name: "cpuset",
  needed: (r) => planCpuset(r).length > 0,
  async apply(dir, r) {
    await writeAll(dir, planCpuset(r));
  },
  async stats(dir, out) {
    const cpuset: CpusetStats = {
      cpus: parseCpuList(await readCgroupFile(dir, "cpuset.cpus")),
      mems: parseCpuList(await readCgroupFile(dir, "cpuset.mems")),
    };
    for (const key of CPUSET_FLAGS) {
      const text = await readOptional(dir, `cpuset.${key}`);
      if (text !== undefined) cpuset[key] = Number(text.trim());
    }
    out.cpuset = cpuset;
  },
};
