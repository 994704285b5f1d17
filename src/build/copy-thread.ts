/**
 * Copies many files on a worker thread: a COPY of a large context is thousands of small
 * synchronous file operations, kept off the caller's event loop (pierd's) and without a
 * thread-pool round trip per call.
 */
import { runFileJob } from "./file-worker.js";

/** What the worker copies: files and symlinks whose destination's parent exists. */
export interface CopyJob {
  /** `expect`: the sha256 (hex) the file's bytes had when the step's key was computed. */
  entries: { from: string; to: string; kind: "file" | "symlink"; expect?: string }[];
  /** Owner for every entry; absent: each keeps its source's. */
  uid?: number;
  gid?: number;
  /** Mode for every file; absent: each keeps its source's. */
  mode?: number;
  /** The hash cache the expected digests came from, forgotten when a file differs from them. */
  hashCache?: string;
}

/** Runs `job` on a file worker; rejects with `CONTEXT_PATH` naming the failure. */
export async function copyFilesOnThread(job: CopyJob): Promise<void> {
  if (job.entries.length === 0) return;
  await runFileJob<null>({ kind: "copy", job }, "copying");
}
