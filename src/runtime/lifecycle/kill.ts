/**
 * `kill`: sends a signal to a `created`, `running` or `paused` container's process (or, with
 * `all`, to every process of the container), answering as runc does otherwise.
 */
import { RuntimeError } from "../error.js";
import { openContainerCgroup } from "./cgroup-link.js";
import type { RuntimeContext } from "./context.js";
import { containerPids } from "./processes.js";

/**
 * Signals container `id`. A container whose process is not running: `INVALID_STATE` ("container
 * not running", as runc) without `all`; with `all`, as runc, whatever is still in its cgroup (an
 * init's children may outlive it) gets the signal and nothing is an error. Its stored pid is
 * never signalled then: it may belong to another process by now.
 */
export async function killContainer(
  ctx: RuntimeContext,
  id: string,
  signal: number,
  all = false,
): Promise<void> {
  const c = await ctx.store.load(id);
  const status = ctx.store.status(c);
  let pids: number[];
  if (status === "created" || status === "running" || status === "paused")
    pids = all ? await containerPids(c) : [c.pid];
  else if (!all) throw new RuntimeError("INVALID_STATE", "container not running");
  else pids = (await (await openContainerCgroup(c.id, c.cgroupPath))?.pids()) ?? [];
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  }
}
