/**
 * Reading a file named by a CRI client (a Localhost seccomp profile) with a size bound, so a
 * huge or endless file (a FIFO, /dev/zero) cannot take the daemon's memory or thread.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";

/** The text of regular file `path`, at most `max` bytes; throws naming the problem otherwise. */
export function readBoundedFile(path: string, max: number): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error("not a regular file");
    if (st.size > max) throw new Error(`larger than ${max} bytes`);
    const buf = Buffer.alloc(st.size);
    let at = 0;
    while (at < buf.length) {
      const n = readSync(fd, buf, at, buf.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return buf.subarray(0, at).toString("utf8");
  } finally {
    closeSync(fd);
  }
}
