/**
 * `start`: releases a `created` container's process through its exec fifo (as runc does), then
 * runs the `poststart` hooks; a failing poststart hook kills the container and is an error.
 */
import { close, closeSync, constants, open, openSync, read, unlinkSync } from "node:fs";
import { RuntimeError } from "../error.js";
import { runHooks } from "../hooks.js";
import { processStartTime, type StoredContainer } from "../state-store.js";
import type { RuntimeContext } from "./context.js";

/** How often the wait for the exec fifo checks that the process still lives. */
const ALIVE_CHECK_MS = 20;

/**
 * Waits until process `pid` (with start time `startTime`) wrote its byte to exec fifo `fifo`,
 * which releases it; resolves true then, false when it was gone without the byte. No polling
 * of the fifo: the open and the read block on the thread pool (as runc's start blocks in its
 * open), and meet the process's own blocking open at once. Should the process die before its
 * open, a slow check of its life opens a writer end itself (and closes it), so that neither the
 * open nor the read waits forever.
 */
async function released(fifo: string, pid: number, startTime: string): Promise<boolean> {
  let done = false;
  const alive = setInterval(() => {
    if (done || processStartTime(pid) === startTime) return;
    clearInterval(alive);
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {}
  }, ALIVE_CHECK_MS);
  try {
    return (await readOneByte(fifo)) > 0;
  } finally {
    done = true;
    clearInterval(alive);
  }
}

/**
 * Opens `fifo` and reads one byte, both blocking on the thread pool; resolves the count read.
 * The fd is closed without waiting (the byte is what `start` waits for). Node's callback API:
 * `node:fs/promises` would be loaded for this alone on a cold service's first `run`.
 */
function readOneByte(fifo: string): Promise<number> {
  return new Promise((resolve, reject) => {
    open(fifo, constants.O_RDONLY, (err, fd) => {
      if (err) return reject(err);
      read(fd, Buffer.alloc(1), 0, 1, null, (readErr, n) => {
        close(fd, () => {});
        if (readErr) reject(readErr);
        else resolve(n);
      });
    });
  });
}

/**
 * Starts container `id`; throws `INVALID_STATE` unless it is `created`. `created` is its record
 * when the caller has it at hand (`run`: the one it just wrote), else it is read.
 */
export async function startContainer(
  ctx: RuntimeContext,
  id: string,
  created?: StoredContainer,
): Promise<StoredContainer> {
  const c = created ?? (await ctx.store.load(id));
  const status = ctx.store.status(c);
  if (status === "stopped")
    throw new RuntimeError("INVALID_STATE", "cannot start a container that has stopped");
  if (status === "running")
    throw new RuntimeError("INVALID_STATE", "cannot start an already running container");
  if (status !== "created")
    throw new RuntimeError("INVALID_STATE", `cannot start a container in the ${status} state`);
  const fifo = ctx.store.fifoPath(id);
  try {
    if (!(await released(fifo, c.pid, c.pidStartTime)))
      throw new RuntimeError("INVALID_STATE", "cannot start a container that has stopped");
  } finally {
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
