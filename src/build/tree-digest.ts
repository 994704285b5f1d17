/**
 * The content digest of what a COPY reads: for each entry its relative path, type, permission
 * bits, link target and the sha256 of its bytes — never times or owners, so touching a file keeps
 * the step's cache. File contents come from a {@link FileHashCache} when the file's stat proves
 * them unchanged, else from reading the file (never through a symlink: a file swapped for one
 * fails the build instead of hashing what it points to).
 *
 * Synchronous: it runs on the digest worker thread ({@link import("./digest-thread.js")}).
 */
import { createHash } from "node:crypto";
import {
  type BigIntStats,
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readlinkSync,
  readSync,
} from "node:fs";
import { BuildError } from "./error.js";
import { type FileHashCache, statKey } from "./hash-cache.js";

/** One entry to hash: where it is, its path below the copy's destination, and its cache name. */
export interface DigestEntry {
  host: string;
  rel: string;
  /** The path relative to the context (the cache's key); absent: not cached. */
  cacheName?: string;
}

/** The digest of a list of entries, and each file's content digest (hex; `""` for a non-file). */
export interface TreeDigest {
  digest: string;
  files: string[];
}

/** Bytes read at a time: a file of any size is hashed holding one such buffer. */
const CHUNK = 1 << 20;

/** Hashes `entries` in order (see the module comment). */
export function digestEntries(entries: readonly DigestEntry[], cache: FileHashCache): TreeDigest {
  const all = createHash("sha256");
  const files: string[] = [];
  const buf = Buffer.allocUnsafe(CHUNK);
  for (const e of entries) {
    const st = lstatSync(e.host, { bigint: true });
    const kind = st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other";
    // One running hash: a path and a link target end with NUL (which neither holds), and a
    // file's content digest is 32 bytes, so the sequence reads back one way only.
    all.update(`${e.rel}\0${kind}\0${(st.mode & 0o7777n).toString(8)}\0`);
    let content = "";
    if (kind === "symlink") all.update(`${readlinkSync(e.host)}\0`);
    else if (kind === "file") {
      content = (e.cacheName !== undefined ? cache.lookup(e.cacheName, statKey(st)) : undefined) ?? "";
      if (content === "") {
        const read = hashFile(e.host, buf);
        content = read.hex;
        if (e.cacheName !== undefined) cache.record(e.cacheName, read.stat, content);
      }
      all.update(Buffer.from(content, "hex"));
    }
    files.push(content);
  }
  return { digest: `sha256:${all.digest("hex")}`, files };
}

/** Reads and hashes a regular file; `stat` is the open file's, taken before the first read. */
export function hashFile(host: string, buf: Buffer): { hex: string; stat: BigIntStats } {
  let fd: number;
  try {
    fd = openSync(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw new BuildError(
      "CONTEXT_PATH",
      `${host}: changed while the build read it (${(err as Error).message})`,
    );
  }
  try {
    const stat = fstatSync(fd, { bigint: true });
    if (!stat.isFile())
      throw new BuildError("CONTEXT_PATH", `${host}: changed while the build read it (no longer a file)`);
    const h = createHash("sha256");
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null))
      h.update(buf.subarray(0, n));
    return { hex: h.digest("hex"), stat };
  } finally {
    closeSync(fd);
  }
}
