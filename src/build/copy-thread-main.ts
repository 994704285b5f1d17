/**
 * The worker of {@link import("./copy-thread.js").copyFilesOnThread}: copies files, symlinks and
 * their owners, modes and times with synchronous calls (one thread-pool trip each would cost
 * more than the copy of a small file), then posts `{ ok }` or the first error.
 */
import {
  chmodSync,
  constants,
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

/** Runs `make`; when the destination exists, removes it and runs `make` again. */
function replacing(to: string, make: () => void): void {
  try {
    make();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    rmSync(to, { recursive: true, force: true });
    make();
  }
}

try {
  for (const e of job.entries) {
    const st = lstatSync(e.from);
    // Exclusive creation: a destination that exists (even as a symlink, which a plain copy
    // would follow) fails with EEXIST and is replaced. The destination is mostly new, so no
    // lookup first (one through every overlay lower per file).
    if (e.kind === "symlink") replacing(e.to, () => symlinkSync(readlinkSync(e.from), e.to));
    else replacing(e.to, () => copyFileSync(e.from, e.to, constants.COPYFILE_EXCL));
    lchownSync(e.to, job.uid ?? st.uid, job.gid ?? st.gid);
    if (e.kind === "symlink") continue;
    // copyFile gave the file its source's permission bits; chown cleared setuid/setgid.
    const mode = job.mode ?? st.mode & 0o7777;
    if (job.mode !== undefined || mode & 0o7000) chmodSync(e.to, mode);
    utimesSync(e.to, st.atime, st.mtime);
  }
  parentPort?.postMessage({ ok: true });
} catch (err) {
  parentPort?.postMessage({ ok: false, message: (err as Error).message });
}
