/**
 * The tar of a step's upper directory: packed on the pack worker thread (its synchronous walk
 * and reads stay off the caller's event loop), unless the upper holds only a few entries (a
 * WORKDIR, most RUN steps' outputs), which are packed here rather than pay a worker's start.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { packDirectory, packStream } from "../layer/index.js";

/** Uppers with at most this many entries are packed on the calling thread. */
const SMALL = 64;

/** The uncompressed layer tar of the overlay upper directory `upper`. */
export async function packUpper(upper: string, mtime?: number): Promise<Readable> {
  const options = { overlay: true, ...(mtime !== undefined ? { mtime } : {}) };
  if (await atMost(upper, SMALL)) return await packDirectory(upper, options);
  return packStream({ kind: "directory", root: upper, options });
}

/** True when the tree under `dir` has at most `limit` entries (stops counting past it). */
async function atMost(dir: string, limit: number): Promise<boolean> {
  let seen = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (++seen > limit) return false;
      if (e.isDirectory()) stack.push(join(d, e.name));
    }
  }
  return true;
}
