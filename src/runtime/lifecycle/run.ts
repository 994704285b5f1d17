/**
 * `run`: create + start + wait, then delete; resolves with the container's exit status
 * (128+signal when killed), as `runc run`. With `detach`, resolves 0 once started.
 */

import type { RuntimeContext } from "./context.js";
import { type CreateOptions, createContainer } from "./create.js";
import { deleteContainer } from "./delete.js";
import { startContainer } from "./start.js";

/** Options of {@link runContainer}. */
export interface RunOptions extends Omit<CreateOptions, "mode"> {
  detach?: boolean;
}

/** Runs container `opts.id` to completion (or until started, with `detach`). */
export async function runContainer(ctx: RuntimeContext, opts: RunOptions): Promise<number> {
  const { session, ...known } = await createContainer(ctx, {
    ...opts,
    mode: opts.detach ? "detach" : "wait",
  });
  try {
    await startContainer(ctx, opts.id, known.container);
  } catch (err) {
    await deleteContainer(ctx, opts.id, true, known).catch(() => {});
    throw err;
  }
  if (opts.detach) return 0;
  // Only a helper that is this process's child gets this process's signals (not under the
  // runtime service, whose caller forwards them itself).
  const kill = session.kill;
  const forward = (sig: NodeJS.Signals) => {
    try {
      kill?.(sig);
    } catch {}
  };
  const sigs: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"];
  if (kill) for (const s of sigs) process.on(s, forward);
  const status = await session.exited;
  for (const s of sigs) process.off(s, forward);
  await deleteContainer(ctx, opts.id, true, known);
  return status;
}
