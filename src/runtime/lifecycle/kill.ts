/**
 * `kill`: sends a signal to a `created` or `running` container's process (or, with `all`, to every
 * process of the container).
 */
import { RuntimeError } from "../error.js";
import type { RuntimeContext } from "./context.js";
import { containerPids } from "./processes.js";

/** Signals container `id`; throws `INVALID_STATE` when it is not created or running. */
export async function killContainer(
  ctx: RuntimeContext,
  id: string,
  signal: number,
  all = false,
): Promise<void> {
  const c = await ctx.store.load(id);
  const status = ctx.store.status(c);
  if (status !== "created" && status !== "running" && status !== "paused")
    throw new RuntimeError("INVALID_STATE", "container not running");
  const pids = all ? await containerPids(c) : [c.pid];
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  }
}
