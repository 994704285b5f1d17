/**
 * Copies many files on a worker thread: a COPY of a large context is thousands of small
 * synchronous file operations, kept off the caller's event loop (pierd's) and without a
 * thread-pool round trip per call.
 */
import { Worker } from "node:worker_threads";
import { BuildError } from "./error.js";

/** What the worker copies: files and symlinks whose destination's parent exists. */
export interface CopyJob {
  entries: { from: string; to: string; kind: "file" | "symlink" }[];
  /** Owner for every entry; absent: each keeps its source's. */
  uid?: number;
  gid?: number;
  /** Mode for every file; absent: each keeps its source's. */
  mode?: number;
}

/** Runs `job` on a worker thread; rejects with `CONTEXT_PATH` naming the failure. */
export function copyFilesOnThread(job: CopyJob): Promise<void> {
  if (job.entries.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./copy-thread-main.js", import.meta.url), { workerData: job });
    let settled = false;
    worker.once("message", (m: { ok: boolean; message?: string }) => {
      settled = true;
      if (m.ok) resolve();
      else reject(new BuildError("CONTEXT_PATH", `copying: ${m.message}`));
    });
    worker.once("error", (err) => {
      settled = true;
      reject(new BuildError("CONTEXT_PATH", `copying: ${err.message}`, { cause: err }));
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new BuildError("CONTEXT_PATH", `copying: the worker exited with ${code}`));
    });
  });
}
