/** The worker of {@link import("./digest-thread.js").digestOnThread}. */
import { workerData } from "node:worker_threads";
import type { DigestJob } from "./digest-thread.js";
import { FileHashCache } from "./hash-cache.js";
import { serveThreadJob } from "./thread-job.js";
import { digestEntries } from "./tree-digest.js";

const job = workerData as DigestJob;
serveThreadJob(() => {
  const cache = new FileHashCache(job.cacheFile, BigInt(Date.now()) * 1_000_000n);
  const result = digestEntries(job.entries, cache);
  try {
    cache.save();
  } catch {
    // A cache that cannot be written costs the next build a re-read, nothing else.
  }
  return result;
});
