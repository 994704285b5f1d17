/** Removing a cgroup directory tree, the one way cgroupfs allows: rmdir, deepest first. */
import type { Dirent } from "node:fs";
import { readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "../../common/sleep.js";
import { isErrno } from "../../errors.js";
import { CgroupError } from "./error.js";

async function removeOnce(dir: string): Promise<void> {
  // A container's cgroup rarely has child cgroups: rmdir at once, and list the children only
  // when the kernel refuses (EBUSY: children, or tasks, which the retry below waits out).
  try {
    rmdirSync(dir);
    return;
  } catch (err) {
    if (isErrno(err, "ENOENT")) return;
    if (!isErrno(err, "EBUSY") && !isErrno(err, "ENOTEMPTY")) throw err;
  }
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, "ENOENT")) return;
    throw err;
  }
  for (const e of entries) if (e.isDirectory()) await removeOnce(join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch (err) {
    if (!isErrno(err, "ENOENT")) throw err;
  }
}

/**
 * Removes `dir` and its child cgroups. Absent is success. Processes are never killed: a cgroup
 * that still has tasks gives EBUSY, retried a few times (tasks that just exited linger for a
 * moment) before `CgroupError` `BUSY`.
 */
export async function removeCgroupDir(dir: string): Promise<void> {
  let delay = 10;
  for (let attempt = 0; ; attempt++) {
    try {
      await removeOnce(dir);
      return;
    } catch (err) {
      if (!isErrno(err, "EBUSY") || attempt >= 6) {
        const why = isErrno(err, "EBUSY") ? "it still has processes" : String(err);
        throw new CgroupError("BUSY", `cannot remove cgroup ${dir}: ${why}`, { cause: err });
      }
      await sleep(delay);
      delay *= 2;
    }
  }
}

/** Lists the pids in `dir/cgroup.procs` and every child cgroup's, deduplicated. */
export async function listProcesses(dir: string): Promise<number[]> {
  const pids = new Set<number>();
  const walk = async (d: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch (err) {
      if (isErrno(err, "ENOENT")) return;
      throw err;
    }
    let text = "";
    try {
      text = readFileSync(join(d, "cgroup.procs"), "utf8");
    } catch {}
    for (const line of text.split("\n")) if (line) pids.add(Number(line));
    for (const e of entries) if (e.isDirectory()) await walk(join(d, e.name));
  };
  await walk(dir);
  return [...pids].sort((a, b) => a - b);
}
