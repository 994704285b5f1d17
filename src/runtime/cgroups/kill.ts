/** Signalling every process of a cgroup without racing against forks. */
import { isErrno } from "../../errors.js";
import { cgroupFileExists, writeCgroupFile } from "./fs.js";
import { listProcesses } from "./remove.js";

/** What {@link killCgroup} needs from a cgroup. */
export interface Killable {
  processes(): Promise<number[]>;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
}

/**
 * Sends `signal` to every process of the cgroup. SIGKILL goes through `cgroup.kill` when the
 * kernel has it (Linux 5.14+, v2 or the unified tree of a hybrid host): atomic, forks included.
 * Otherwise the cgroup is frozen while the signals are sent, so no new process escapes, then
 * thawed (so stopped processes can act on the signal), as runc's `kill --all` does.
 * Processes that exit meanwhile are not an error.
 */
export async function killCgroup(cg: Killable, signal: NodeJS.Signals, unifiedDir?: string): Promise<void> {
  if (signal === "SIGKILL" && unifiedDir && (await cgroupFileExists(unifiedDir, "cgroup.kill"))) {
    const covered = new Set(await listProcesses(unifiedDir));
    await writeCgroupFile(unifiedDir, "cgroup.kill", "1");
    // On hybrid hosts a process that joined only the v1 hierarchies is not in the unified
    // tree; only then is the slow path below needed.
    if ((await cg.processes()).every((pid) => covered.has(pid))) return;
  }
  let frozen = false;
  try {
    await cg.freeze();
    frozen = true;
  } catch {
    // Without a freezer, signal anyway: a fork in between is the only risk.
  }
  try {
    for (const pid of await cg.processes()) {
      try {
        process.kill(pid, signal);
      } catch (err) {
        if (!isErrno(err, "ESRCH")) throw err;
      }
    }
  } finally {
    if (frozen) await cg.thaw();
  }
}
