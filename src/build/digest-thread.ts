/**
 * The content digest of a COPY's sources ({@link digestEntries}), computed on a worker thread
 * with the context's stat-keyed hash cache ({@link FileHashCache}) loaded there and saved after.
 */

import { runFileJob } from "./file-worker.js";
import type { DigestEntry, TreeDigest } from "./tree-digest.js";

/** What the digest worker hashes. */
export interface DigestJob {
  entries: DigestEntry[];
  /** The hash cache file of the context (absent: no cache). */
  cacheFile?: string;
}

/** Hashes `job.entries` on a file worker. */
export function digestOnThread(job: DigestJob): Promise<TreeDigest> {
  return runFileJob<TreeDigest>({ kind: "digest", job }, "hashing");
}
