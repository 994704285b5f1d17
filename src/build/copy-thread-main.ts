/**
 * The worker of {@link import("./copy-thread.js").copyFilesOnThread}: copies files, symlinks and
 * their owners, modes and times with synchronous calls (one thread-pool trip each would cost
 * more than the copy of a small file), then posts `{ ok }` or the first error.
 */
import {
  chmodSync,
  copyFileSync,
  lchownSync,
  lstatSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
} from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import type { CopyJob } from "./copy-thread.js";

const job = workerData as CopyJob;
try {
  for (const e of job.entries) {
    const st = lstatSync(e.from);
    let existing = true;
    try {
      lstatSync(e.to);
    } catch {
      existing = false;
    }
    if (existing) rmSync(e.to, { recursive: true, force: true });
    if (e.kind === "symlink") symlinkSync(readlinkSync(e.from), e.to);
    else copyFileSync(e.from, e.to);
    lchownSync(e.to, job.uid ?? st.uid, job.gid ?? st.gid);
    if (e.kind === "symlink") continue;
    chmodSync(e.to, job.mode ?? st.mode & 0o7777);
    utimesSync(e.to, st.atime, st.mtime);
  }
  parentPort?.postMessage({ ok: true });
} catch (err) {
  parentPort?.postMessage({ ok: false, message: (err as Error).message });
}
