/**
 * One job on a worker thread of its own: the builder's file work (hashing a context, copying
 * thousands of files) is many small synchronous calls, kept off the caller's event loop (pierd's)
 * and without a thread-pool round trip per call. The worker posts one {@link ThreadReply}.
 */
import { parentPort, Worker } from "node:worker_threads";
import { BuildError, type BuildErrorCode } from "./error.js";

/** What a job's worker posts when it ends. */
export type ThreadReply<T> = { ok: true; result: T } | { ok: false; code: BuildErrorCode; message: string };

/** The worker's heap bound: a runaway job fails there, not in the daemon. */
const WORKER_HEAP_MB = 256;

/**
 * Runs the worker module `url` with `data`; resolves with its result, rejects with its
 * `BuildError` (its code kept), or with a `CONTEXT_PATH` error naming `what` when it died.
 */
export function runThreadJob<T>(url: URL, data: unknown, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    let settled = false;
    worker.once("message", (m: ThreadReply<T>) => {
      settled = true;
      if (m.ok) resolve(m.result);
      else reject(new BuildError(m.code, `${what}: ${m.message}`));
    });
    worker.once("error", (err) => {
      settled = true;
      reject(new BuildError("CONTEXT_PATH", `${what}: ${err.message}`, { cause: err }));
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new BuildError("CONTEXT_PATH", `${what}: the worker exited with ${code}`));
    });
  });
}

/** In a job's worker: runs `job` and posts its result or its error. */
export function serveThreadJob<T>(job: () => T): void {
  let reply: ThreadReply<T>;
  try {
    reply = { ok: true, result: job() };
  } catch (err) {
    reply = {
      ok: false,
      code: err instanceof BuildError ? err.code : "CONTEXT_PATH",
      message: (err as Error).message,
    };
  }
  parentPort?.postMessage(reply);
}
