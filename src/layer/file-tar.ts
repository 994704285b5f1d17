/**
 * The uncompressed tar of a layer blob file in whole 1 MiB chunks, for the thread that only
 * decompresses (`decompress-thread-main.ts`); the diff_id is the applier's work (see
 * `applyLayerFromFile`). zstd and plain tars are read and decoded in one synchronous
 * loop, zstd straight into the chunk (zstd-napi's context: no stream, no copy, no `zstd`
 * process and its pipe), so the thread waits on nothing but its reader; every chunk is a
 * buffer of its own, which the thread hands over without copying.
 */
import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import binding from "zstd-napi/binding.js";
import type { Compression } from "../oci/media-types.js";
import { corruptStream, decompress, emptyStream, magicMismatch } from "./compression.js";
import { LayerError } from "./error.js";

/** Bytes of tar per chunk handed out (the last one may be shorter), and of compressed input per read. */
export const CHUNK_BYTES = 1 << 20;

/**
 * The tar in the layer file at `path`, declared as `compression` (checked against the magic
 * bytes: `COMPRESSION_MISMATCH`). Iterate it once: every chunk but the last is
 * {@link CHUNK_BYTES} long and the only view of its own `ArrayBuffer`. A cut or damaged stream fails with `CORRUPT_STREAM`. gzip
 * has no synchronous streaming decoder in Node (zlib's sync entry point closes its handle after
 * one call), so it is zlib's stream, in 1 MiB pieces.
 */
export function fileTar(path: string, compression: Compression): AsyncIterable<Buffer> {
  return compression === "gzip" ? gunzipped(path) : decoded(path, compression);
}

/** gzip through zlib's stream, its pieces gathered into chunks of their own. */
async function* gunzipped(path: string): AsyncGenerator<Buffer> {
  const pieces = decompress(createReadStream(path, { highWaterMark: CHUNK_BYTES }), "gzip", {
    gzipChunkBytes: CHUNK_BYTES,
  }) as AsyncIterable<Buffer>;
  let out = Buffer.allocUnsafe(CHUNK_BYTES);
  let filled = 0;
  for await (const piece of pieces) {
    let off = 0;
    while (off < piece.length) {
      const k = piece.copy(out, filled, off);
      filled += k;
      off += k;
      if (filled === CHUNK_BYTES) {
        yield out;
        out = Buffer.allocUnsafe(CHUNK_BYTES);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield out.subarray(0, filled);
}

/** zstd or uncompressed, read and decoded synchronously. */
async function* decoded(path: string, compression: "zstd" | "none"): AsyncGenerator<Buffer> {
  const fd = openSync(path, "r");
  try {
    // The magic bytes, read at offset 0 without moving the file position.
    const head = Buffer.alloc(4);
    const h = readSync(fd, head, 0, head.length, 0);
    if (h === 0) throw emptyStream();
    const mismatch = magicMismatch(compression, head.subarray(0, h), true);
    if (mismatch) throw mismatch;
    if (compression === "none") {
      for (;;) {
        const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
        const got = readSync(fd, chunk, 0, chunk.length, null);
        if (got === 0) return;
        yield chunk.subarray(0, got);
      }
    }
    const dctx = new binding.DCtx();
    const input = Buffer.allocUnsafe(CHUNK_BYTES);
    let out = Buffer.allocUnsafe(CHUNK_BYTES);
    let filled = 0;
    /** The decoder is inside a frame: the input must not end here. */
    let inFrame = false;
    for (;;) {
      const got = readSync(fd, input, 0, input.length, null);
      if (got === 0) break;
      let src = input.subarray(0, got);
      for (;;) {
        const space = out.length - filled;
        let ret: number;
        let produced: number;
        let consumed: number;
        try {
          [ret, produced, consumed] = dctx.decompressStream(out.subarray(filled), src);
        } catch (err) {
          throw corruptStream("zstd", err);
        }
        filled += produced;
        src = src.subarray(consumed);
        inFrame = ret !== 0;
        if (filled === out.length) {
          // Handed out whole: however much a small input expands, at most one chunk is held.
          yield out;
          out = Buffer.allocUnsafe(CHUNK_BYTES);
          filled = 0;
        }
        // This input is done once consumed and the decoder holds nothing more to flush.
        if (src.length === 0 && (produced < space || ret === 0)) break;
      }
    }
    if (inFrame)
      throw new LayerError("CORRUPT_STREAM", "zstd stream is corrupt or truncated: it ends inside a frame");
    if (filled > 0) yield out.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}
