/**
 * `start`: releases a `created` container's process through its exec fifo (as runc does), then
 * runs the `poststart` hooks; a failing poststart hook kills the container and is an error.
 */
import { closeSync, constants, openSync, readSync, unlinkSync } from "node:fs";
import { RuntimeError } from "../error.js";
import { runHooks } from "../hooks.js";
import { processStartTime, type StoredContainer } from "../state-store.js";
import type { RuntimeContext } from "./context.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One non-blocking read of the exec fifo: the byte count, 0 when nothing is there yet. */
function readOnce(fd: number, buf: Buffer): number {
  try {
    return readSync(fd, buf, 0, 1, null);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
    return 0;
  }
}

/** Starts container `id`; throws `INVALID_STATE` unless it is `created`. */
export async function startContainer(ctx: RuntimeContext, id: string): Promise<StoredContainer> {
  const c = await ctx.store.load(id);
  const status = ctx.store.status(c);
  if (status === "stopped")
    throw new RuntimeError("INVALID_STATE", "cannot start a container that has stopped");
  if (status === "running")
    throw new RuntimeError("INVALID_STATE", "cannot start an already running container");
  if (status !== "created")
    throw new RuntimeError("INVALID_STATE", `cannot start a container in the ${status} state`);
  const fifo = ctx.store.fifoPath(id);
  // Non-blocking read end: a writer that died never leaves us blocked in open(2).
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(1);
    for (;;) {
      const n = readOnce(fd, buf);
      if (n > 0) break;
      if (processStartTime(c.pid) !== c.pidStartTime) {
        // Released, exec'd and exited between the read above and this check (a `true` under
        // load): its byte is in the fifo then, and it did start. runc's exec() checks the same.
        if (readOnce(fd, buf) > 0) break;
        throw new RuntimeError("INVALID_STATE", "cannot start a container that has stopped");
      }
      await sleep(1);
    }
  } finally {
    closeSync(fd);
    try {
      unlinkSync(fifo);
    } catch {}
  }
  const hooks = c.config.hooks?.poststart;
  if (hooks?.length) {
    // runtime.md: pid is REQUIRED when running, also when a quick process has exited already.
    const state = JSON.stringify({ ...ctx.store.state(c), status: "running", pid: c.pid });
    try {
      await runHooks(hooks, state, "poststart");
    } catch (err) {
      try {
        process.kill(c.pid, "SIGKILL");
      } catch {}
      throw err;
    }
  }
  return c;
}
