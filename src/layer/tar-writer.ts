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

/** Fills a ~1 MiB buffer with headers and bodies, reading small files straight into it. */
class Batcher {
  private buf = Buffer.allocUnsafe(BATCH);
  private pos = 0;

  /** Bytes free in the current batch. */
  get room(): number {
    return BATCH - this.pos;
  }

  /** Copies `b` in; the caller flushes first when it does not fit. */
  put(b: Buffer): void {
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  /** Zero padding. */
  pad(n: number): void {
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  /** Reads exactly `n` bytes of `fd` into the batch. */
  read(fd: number, n: number, path: string): void {
    let left = n;
    while (left > 0) {
      const got = readSync(fd, this.buf, this.pos, left, null);
      if (got === 0) throw new LayerError("INVALID_SOURCE", `${path} shrank while it was being packed`);
      this.pos += got;
      left -= got;
    }
  }

  /** Hands out what was filled and starts a new batch (the consumer keeps the old one). */
  take(): Buffer | undefined {
    if (this.pos === 0) return undefined;
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(BATCH);
    this.pos = 0;
    return out;
  }
}

function assertAtEnd(fd: number, path: string): void {
  const probe = Buffer.allocUnsafe(1);
  if (readSync(fd, probe, 0, 1, null) !== 0)
    throw new LayerError("INVALID_SOURCE", `${path} grew while it was being packed`);
}

function* tarChunks(entries: Iterable<WriteEntry>): Generator<Buffer> {
  const batch = new Batcher();
  const flush = function* (): Generator<Buffer> {
    const b = batch.take();
    if (b) yield b;
  };
  for (const { header, source } of entries) {
    const head = encodeHeader(header);
    if (head.length > batch.room) yield* flush();
    batch.put(head);
    if (header.type !== "file" || header.size === 0) continue;
    if (!source) throw new LayerError("INVALID_SOURCE", `no body for ${header.name}`);
    const pad = paddingFor(header.size);
    const fd = openSync(source, "r");
    try {
      if (header.size + pad <= batch.room) {
        batch.read(fd, header.size, source);
      } else if (header.size + pad <= BATCH) {
        yield* flush();
        batch.read(fd, header.size, source);
      } else {
        // Large file: whole 1 MiB pieces read into fresh buffers, no copying.
        yield* flush();
        let left = header.size;
        while (left > 0) {
          const piece = Buffer.allocUnsafe(Math.min(left, BATCH));
          let off = 0;
          while (off < piece.length) {
            const got = readSync(fd, piece, off, piece.length - off, null);
            if (got === 0)
              throw new LayerError("INVALID_SOURCE", `${source} shrank while it was being packed`);
            off += got;
          }
          left -= piece.length;
          yield piece;
        }
      }
      assertAtEnd(fd, source);
    } finally {
      closeSync(fd);
    }
    if (pad > batch.room) yield* flush();
    batch.pad(pad);
  }
  if (BLOCK * 2 > batch.room) yield* flush();
  batch.pad(BLOCK * 2);
  yield* flush();
}

/**
 * A readable tar stream of `entries`, in the given order, ended by the two zero blocks. Bodies
 * are read lazily as the stream is consumed (backpressure respected). A file whose size
 * differs from its header when read fails the stream with `LayerError` `INVALID_SOURCE`.
 */
export function writeTar(entries: Iterable<WriteEntry>): Readable {
  return Readable.from(tarChunks(entries), { objectMode: false, highWaterMark: 4 * BATCH });
}
