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
  linkSync,
  lstatSync,
  openSync,
  readlinkSync,
  readSync,
  rmSync,
  symlinkSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import type { CopyJob, LinkJob } from "./copy-thread.js";
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

/**
 * The layer file that `from` (a file of the source view) is, and where its link goes in the
 * upper directory — or `undefined` when it must be copied. The view shows the topmost layer that
 * holds the path; that file is taken only when it is the very inode the view shows (same inode
 * number, on the layers' file system, same size and mtime), a regular file without extended
 * attributes, and the link's directory already exists in the upper directory.
 */
function linkTarget(
  link: NonNullable<CopyJob["link"]>,
  layerDev: Map<string, number>,
  withXattrs: ReadonlySet<string>,
  from: string,
  upperTo: string,
): { from: string; to: string; ino: number } | undefined {
  if (!from.startsWith(`${link.viewRoot}/`) || !upperTo.startsWith(`${link.upperRoot}/`)) return undefined;
  const rel = from.slice(link.viewRoot.length + 1);
  const shown = lstatSync(from);
  for (const layer of link.layers) {
    const found = lstatSync(`${layer}/${rel}`, { throwIfNoEntry: false });
    if (found === undefined) continue;
    let dev = layerDev.get(layer);
    if (dev === undefined) {
      dev = lstatSync(layer).dev;
      layerDev.set(layer, dev);
    }
    const same =
      found.isFile() &&
      found.dev === dev &&
      found.ino === shown.ino &&
      found.size === shown.size &&
      found.mtimeMs === shown.mtimeMs &&
      !withXattrs.has(`${layer}/${rel}`) &&
      lstatSync(dirname(upperTo), { throwIfNoEntry: false })?.isDirectory() === true;
    return same ? { from: `${layer}/${rel}`, to: upperTo, ino: found.ino } : undefined;
  }
  return undefined;
}

/**
 * Copies `job`'s entries in order and returns the links left for after the unmount (see
 * {@link linkTarget}); throws the first failure.
 */
export function copyEntries(job: CopyJob): { from: string; to: string }[] {
  const buf = Buffer.allocUnsafe(CHUNK);
  const linked = new Map<number, { from: string; to: string }>();
  const copyLater = new Set<number>();
  const link = job.link;
  if (link) {
    const layerDev = new Map<string, number>();
    const withXattrs = new Set(link.withXattrs);
    for (const e of job.entries) {
      if (e.kind !== "file" || e.upperTo === undefined) continue;
      const t = linkTarget(link, layerDev, withXattrs, e.from, e.upperTo);
      if (t === undefined) continue;
      // A second name of one inode in the copy: both copied, as the copy would have them.
      if (linked.has(t.ino) || copyLater.has(t.ino)) {
        linked.delete(t.ino);
        copyLater.add(t.ino);
      } else linked.set(t.ino, { from: t.from, to: t.to });
    }
  }
  const linkedTo = new Set([...linked.values()].map((l) => l.to));
  for (const e of job.entries) {
    if (e.kind === "file") {
      if (e.upperTo !== undefined && linkedTo.has(e.upperTo)) continue;
      copyFile(job, e, buf);
      continue;
    }
    const st = lstatSync(e.from);
    replacing(e.to, () => symlinkSync(readlinkSync(e.from), e.to));
    lchownSync(e.to, job.uid ?? st.uid, job.gid ?? st.gid);
  }
  return [...linked.values()];
}

/**
 * Makes the links of {@link copyEntries} in the upper directory (the overlay unmounted). A file
 * that cannot take another name (EMLINK: ext4 allows 65,000) is copied there instead.
 */
export function linkEntries(job: LinkJob): null {
  let buf: Buffer | undefined;
  for (const l of job.links) {
    try {
      linkSync(l.from, l.to);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EMLINK" && code !== "EXDEV" && code !== "EPERM") throw err;
      buf ??= Buffer.allocUnsafe(CHUNK);
      copyFile({ entries: [] }, { from: l.from, to: l.to, kind: "file" }, buf);
    }
  }
  return null;
}
