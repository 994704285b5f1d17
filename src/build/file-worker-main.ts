/** A file worker ({@link import("./file-worker.js").runFileJob}): runs jobs one at a time. */
import { parentPort } from "node:worker_threads";
import { copyEntries, linkEntries } from "./copy-files.js";
import { BuildError } from "./error.js";
import type { FileJob, FileReply } from "./file-worker.js";
import { FileHashCache } from "./hash-cache.js";
import { digestEntries, type TreeDigest } from "./tree-digest.js";

function digest(job: Extract<FileJob, { kind: "digest" }>["job"]): TreeDigest {
  const cache = new FileHashCache(job.cacheFile, BigInt(Date.now()) * 1_000_000n);
  const result = digestEntries(job.entries, cache);
  try {
    cache.save();
  } catch {
    // A cache that cannot be written costs the next build a re-read, nothing else.
  }
  return result;
}

parentPort?.on("message", ({ id, job }: { id: number; job: FileJob }) => {
  let reply: FileReply;
  try {
    const result =
      job.kind === "digest"
        ? digest(job.job)
        : job.kind === "copy"
          ? copyEntries(job.job)
          : linkEntries(job.job);
    reply = { id, ok: true, result };
  } catch (err) {
    reply = {
      id,
      ok: false,
      code: err instanceof BuildError ? err.code : "CONTEXT_PATH",
      message: (err as Error).message,
    };
  }
  parentPort?.postMessage(reply);
});
