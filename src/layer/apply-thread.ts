/**
 * Applies a layer on a worker thread, so that a daemon's event loop keeps answering while a
 * layer (a stranger's input) is decompressed, parsed and written: {@link applyLayer} does its
 * filesystem work with synchronous calls, which would otherwise stall every other request for
 * the whole apply. The worker reads the blob file itself (no bytes cross threads), has its own
 * heap bound, can run at a lower CPU priority than the daemon's own thread, and is terminated
 * when the caller's signal aborts.
 */
import { Worker } from "node:worker_threads";
import type { ApplyOptions, ApplyStats } from "./apply.js";
import { LayerError, type LayerErrorCode } from "./error.js";

/** The worker's heap bound: a runaway apply fails there, not in the daemon. */
const WORKER_HEAP_MB = 1024;

/** What {@link applyLayerFile} hands its worker. */
export interface ApplyJob {
  root: string;
  /** The (compressed) layer blob on disk. */
  path: string;
  options: ApplyOptions;
  /** Niceness added to the worker thread (0: as the caller). */
  nice: number;
}

/** How {@link applyLayerFile} runs its worker. */
export interface ApplyThreadOptions {
  /** Stops the apply: the worker is terminated. */
  signal?: AbortSignal;
  /**
   * Lowers the worker thread's CPU priority by this much (`setpriority` on its thread id), so
   * that on a busy machine the caller's own thread (a daemon answering requests) still gets the
   * CPU first. Default 0.
   */
  nice?: number;
}

/** The worker's answer: stats, or an error flattened for the trip across threads. */
export type ApplyReply =
  | { ok: true; stats: ApplyStats }
  | { ok: false; code: LayerErrorCode; message: string; detail?: Record<string, unknown> };

/**
 * Applies the layer blob at `path` onto `root` (see {@link applyLayer}) on a worker thread and
 * resolves with its statistics. Errors are the same `LayerError`s; when `thread.signal` aborts, the
 * worker is terminated and the promise rejects with `LayerError` `CANCELLED` (the destination
 * then holds part of the layer: apply into a fresh directory and discard it, as on any error).
 */
export function applyLayerFile(
  root: string,
  path: string,
  options: ApplyOptions = {},
  thread: ApplyThreadOptions = {},
): Promise<ApplyStats> {
  const { signal } = thread;
  if (signal?.aborted) return Promise.reject(cancelled(path));
  return new Promise((resolve, reject) => {
    const job: ApplyJob = { root, path, options, nice: thread.nice ?? 0 };
    const worker = new Worker(new URL("./apply-thread-main.js", import.meta.url), {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const onAbort = () => {
      settle(() => reject(cancelled(path)));
      void worker.terminate();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.once("message", (reply: ApplyReply) =>
      settle(() => {
        if (reply.ok) resolve(reply.stats);
        else reject(new LayerError(reply.code, reply.message, reply.detail ? { detail: reply.detail } : {}));
      }),
    );
    worker.once("error", (err: Error & { code?: string }) =>
      settle(() =>
        reject(
          new LayerError(
            "APPLY_FAILED",
            err.code === "ERR_WORKER_OUT_OF_MEMORY"
              ? `applying ${path}: the apply went over its ${WORKER_HEAP_MB} MB memory bound`
              : `applying ${path}: ${err.message}`,
            { cause: err },
          ),
        ),
      ),
    );
    worker.once("exit", (code) =>
      settle(() =>
        reject(new LayerError("APPLY_FAILED", `applying ${path}: the apply thread exited (${code})`)),
      ),
    );
  });
}

function cancelled(path: string): LayerError {
  return new LayerError("CANCELLED", `applying ${path}: cancelled (its request went away)`);
}
