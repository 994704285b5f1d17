/**
 * The worker thread of {@link applyLayerFile}: applies one layer file and posts the result.
 * Not imported by anything; `apply-thread.ts` starts it by URL.
 */
import { readlinkSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import type { ApplyJob, ApplyReply } from "./apply-thread.js";
import { declaredCompression } from "./declared-compression.js";
import { decompressFileInThread } from "./decompress-thread.js";
import { LayerError } from "./error.js";

const job = workerData as ApplyJob;
if (job.nice > 0) {
  // On Linux setpriority(2) on a thread id changes that thread alone; /proc/thread-self names it.
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    setPriority(tid, Math.min(19, getPriority(tid) + job.nice));
  } catch {
    // Not Linux, or not allowed: the apply runs at the caller's priority, which is only slower for others.
  }
}
let reply: ApplyReply;
try {
  // applyLayerFromFile, with the decompressing thread started before this one loads the
  // applier's modules (apply.js and what it imports, the codecs among them), so that the two
  // starts overlap: the first chunk was ready ~60 ms later when started from apply.js.
  const tar = decompressFileInThread(job.path, declaredCompression(job.options));
  try {
    const { applyDecompressed } = await import("./apply.js");
    reply = { ok: true, stats: await applyDecompressed(job.root, tar, job.options) };
  } finally {
    tar.close();
  }
} catch (err) {
  reply =
    err instanceof LayerError
      ? {
          ok: false,
          code: err.code,
          message: err.message,
          ...(err.detail ? { detail: err.detail as Record<string, unknown> } : {}),
        }
      : { ok: false, code: "APPLY_FAILED", message: (err as Error).message };
}
parentPort?.postMessage(reply);
