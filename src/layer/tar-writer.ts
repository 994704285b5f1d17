/**
 * Writes a tar stream from a list of headers whose file bodies are read from disk, in batches
 * of about a megabyte so that tens of thousands of small files do not become tens of
 * thousands of stream chunks.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { Readable } from "node:stream";
import { LayerError } from "./error.js";
import { BLOCK, encodeHeader, paddingFor, type TarHeader } from "./tar-header.js";

/** One entry to write: its header and, for regular files, where its body is. */
export interface WriteEntry {
  header: TarHeader;
  /** Host path of the body (regular files with size > 0). */
  source?: string;
}

const BATCH = 1 << 20;
const ZEROS = Buffer.alloc(BLOCK * 2);

/** Reads exactly `size` bytes of `path` in chunks; fails if the file changed size meanwhile. */
function* readBody(path: string, size: number): Generator<Buffer> {
  const fd = openSync(path, "r");
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(left, BATCH));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) throw new LayerError("INVALID_SOURCE", `${path} shrank while it was being packed`);
      left -= n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
    const probe = Buffer.allocUnsafe(1);
    if (readSync(fd, probe, 0, 1, null) !== 0)
      throw new LayerError("INVALID_SOURCE", `${path} grew while it was being packed`);
  } finally {
    closeSync(fd);
  }
}

function* tarChunks(entries: Iterable<WriteEntry>): Generator<Buffer> {
  let parts: Buffer[] = [];
  let pending = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    pending += b.length;
  };
  const flush = (): Buffer => {
    const out = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, pending);
    parts = [];
    pending = 0;
    return out;
  };
  for (const { header, source } of entries) {
    push(encodeHeader(header));
    if (header.type === "file" && header.size > 0) {
      if (!source) throw new LayerError("INVALID_SOURCE", `no body for ${header.name}`);
      for (const chunk of readBody(source, header.size)) {
        push(chunk);
        if (pending >= BATCH) yield flush();
      }
      const pad = paddingFor(header.size);
      if (pad > 0) push(ZEROS.subarray(0, pad));
    }
    if (pending >= BATCH) yield flush();
  }
  push(ZEROS);
  yield flush();
}

/**
 * A readable tar stream of `entries`, in the given order, ended by the two zero blocks. Bodies
 * are read lazily as the stream is consumed (backpressure respected). A file whose size
 * differs from its header when read fails the stream with `LayerError` `INVALID_SOURCE`.
 */
export function writeTar(entries: Iterable<WriteEntry>): Readable {
  return Readable.from(tarChunks(entries), { objectMode: false, highWaterMark: 4 * BATCH });
}
