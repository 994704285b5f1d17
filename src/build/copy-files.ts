/**
 * What the file worker runs for {@link import("./copy-thread.js").copyFilesOnThread}: copies
 * files, symlinks and their owners, modes and times with synchronous calls (one thread-pool trip
 * each would cost more than the copy of a small file).
 *
 * A file is copied through its descriptors (one path lookup on each side, which on an overlay
 * is the costly part): opened without following a symlink, its bytes read and written in one
 * pass and hashed when the step's key says what they must be — a file that changed since the
 * key was computed fails the step rather than store other bytes under that key. Owner, mode and
 * times are set through the new file's descriptor.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  lchownSync,
  lstatSync,
  openSync,
  readlinkSync,
  readSync,
  rmSync,
  symlinkSync,
  writeSync,
} from "node:fs";
import type { CopyJob } from "./copy-thread.js";
import { BuildError } from "./error.js";
import { FileHashCache } from "./hash-cache.js";

const CHUNK = 1 << 20;
const READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Runs `make`; when the destination exists, removes it and runs `make` again. */
function replacing<T>(to: string, make: () => T): T {
  try {
    return make();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    rmSync(to, { recursive: true, force: true });
    return make();
  }
}

function changed(path: string, why: string): BuildError {
  return new BuildError("CONTEXT_PATH", `${path} changed while the build copied it (${why})`);
}

function copyFile(job: CopyJob, e: CopyJob["entries"][number], buf: Buffer): void {
  let src: number;
  try {
    src = openSync(e.from, READ);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOENT")
      throw changed(e.from, code === "ELOOP" ? "now a symlink" : "gone");
    throw err;
  }
  try {
    const st = fstatSync(src);
    if (!st.isFile()) throw changed(e.from, "no longer a file");
    const mode = job.mode ?? st.mode & 0o7777;
    // Exclusive creation: a destination that exists (even as a symlink, which a plain open
    // would follow) fails with EEXIST and is replaced. It is mostly new: no lookup first.
    const dst = replacing(e.to, () => openSync(e.to, CREATE, mode & 0o777));
    try {
      const hash = e.expect !== undefined ? createHash("sha256") : undefined;
      for (let n = readSync(src, buf, 0, CHUNK, null); n > 0; n = readSync(src, buf, 0, CHUNK, null)) {
        hash?.update(buf.subarray(0, n));
        for (let off = 0; off < n; ) off += writeSync(dst, buf, off, n - off);
      }
      if (hash && hash.digest("hex") !== e.expect) {
        if (job.hashCache !== undefined) FileHashCache.discard(job.hashCache);
        throw changed(e.from, "its content is not what was hashed");
      }
      // Through the descriptor: no path lookup. The mode after the chown (which clears
      // setuid/setgid), and exactly (creation applied the umask or a default ACL).
      fchownSync(dst, job.uid ?? st.uid, job.gid ?? st.gid);
      fchmodSync(dst, mode);
      futimesSync(dst, st.atime, st.mtime);
    } finally {
      closeSync(dst);
    }
  } finally {
    closeSync(src);
  }
}

/** Copies `job`'s entries in order; throws the first failure. */
export function copyEntries(job: CopyJob): null {
  const buf = Buffer.allocUnsafe(CHUNK);
  for (const e of job.entries) {
    if (e.kind === "file") {
      copyFile(job, e, buf);
      continue;
    }
    const st = lstatSync(e.from);
    replacing(e.to, () => symlinkSync(readlinkSync(e.from), e.to));
    lchownSync(e.to, job.uid ?? st.uid, job.gid ?? st.gid);
  }
  return null;
}
