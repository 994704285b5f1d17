/**
 * Layer compression codecs: gzip (node:zlib), zstd (zstd-napi) and none, chosen by media type
 * and checked against the stream's magic bytes.
 */
import { availableParallelism } from "node:os";
import { type Duplex, PassThrough, type Readable, Transform, type TransformCallback } from "node:stream";
import { createGunzip, createGzip, constants as zc } from "node:zlib";
import { CompressStream, DecompressStream } from "zstd-napi";
import type { Compression } from "../oci/media-types.js";
import { LayerError } from "./error.js";
import { hasZstdBinary, zstdProcessDecompress } from "./zstd-process.js";

export { compressionForMediaType } from "./declared-compression.js";

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd] as const;

const ZSTD_WORKERS = Math.max(1, Math.min(4, availableParallelism()));

/** Default levels: gzip 6 (what `gzip` uses), zstd 3 (what `zstd` uses). */
export const DEFAULT_LEVEL: Readonly<Record<Compression, number>> = { none: 0, gzip: 6, zstd: 3 };

/**
 * The compression that `head` (the first bytes of a stream) is in: gzip or zstd by their magic
 * numbers, `none` otherwise, `undefined` when fewer bytes than needed to tell were given.
 */
export function sniffCompression(head: Uint8Array): Compression | undefined {
  const starts = (magic: readonly number[]) => magic.every((b, i) => head[i] === b);
  if (head.length >= 2 && starts(GZIP_MAGIC)) return "gzip";
  if (head.length >= 4 && starts(ZSTD_MAGIC)) return "zstd";
  if (head.length < 4 && (head.length === 0 || starts(ZSTD_MAGIC.slice(0, head.length)))) return undefined;
  return "none";
}

/**
 * The error for a stream declared as `declared` whose first bytes are `head`:
 * `COMPRESSION_MISMATCH` naming both, `undefined` when they agree or when `head` is too short
 * to tell and more may come (`final` false).
 */
export function magicMismatch(
  declared: Compression,
  head: Uint8Array,
  final: boolean,
): LayerError | undefined {
  const actual = sniffCompression(head) ?? (final ? "none" : undefined);
  if (actual === undefined) return undefined;
  if (declared === "none" ? actual !== "none" : actual !== declared) {
    return new LayerError(
      "COMPRESSION_MISMATCH",
      `layer declared as ${declared === "none" ? "uncompressed" : declared} but the stream is ${actual === "none" ? "not compressed" : actual}`,
      { detail: { declared, actual } },
    );
  }
  return undefined;
}

/** The `CORRUPT_STREAM` error for a failure `err` of the `codec` decoder. */
export function corruptStream(codec: string, err: unknown): LayerError {
  return err instanceof LayerError
    ? err
    : new LayerError("CORRUPT_STREAM", `${codec} stream is corrupt or truncated: ${(err as Error).message}`, {
        cause: err,
      });
}

/** The `CORRUPT_STREAM` error for a layer stream with no bytes at all. */
export function emptyStream(): LayerError {
  return new LayerError("CORRUPT_STREAM", "layer stream is empty");
}

/**
 * A pass-through that checks the first bytes against the declared compression and fails with
 * `LayerError` `COMPRESSION_MISMATCH` (naming both) before passing anything on.
 */
class MagicCheck extends Transform {
  private head: Buffer | undefined = Buffer.alloc(0);
  constructor(private readonly declared: Compression) {
    super();
  }

  private check(final: boolean): Error | undefined {
    return magicMismatch(this.declared, this.head as Buffer, final);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.head === undefined) {
      done(null, chunk);
      return;
    }
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.length < 4) {
      done();
      return;
    }
    const err = this.check(false);
    const held = this.head;
    this.head = undefined;
    if (err) done(err);
    else done(null, held);
  }

  override _flush(done: TransformCallback): void {
    if (this.head === undefined) done();
    else if (this.head.length === 0) done(emptyStream());
    else done(this.check(true) ?? null, this.head);
  }
}

function wrapCorrupt(stream: Duplex, codec: string): Duplex {
  // Codec errors become LayerError so callers can branch on a stable code.
  const out = new PassThrough();
  stream.on("error", (err: unknown) => out.destroy(corruptStream(codec, err)));
  stream.pipe(out);
  return out;
}

/** Options of {@link decompress}. */
export interface DecompressOptions {
  /**
   * Size of gzip's output pieces (default 64 KiB, small for many concurrent streams). A thread
   * that only decompresses uses 1 MiB: fewer trips through the thread pool.
   */
  gzipChunkBytes?: number;
}

/**
 * Decompresses `source` as `declared`, after checking its magic bytes. Returns the
 * uncompressed stream; errors on it are `LayerError`s (`COMPRESSION_MISMATCH`,
 * `CORRUPT_STREAM` for a truncated or damaged stream). Errors of `source` are forwarded.
 */
export function decompress(
  source: Readable,
  declared: Compression,
  options: DecompressOptions = {},
): Readable {
  const check = new MagicCheck(declared);
  source.on("error", (err) => check.destroy(err));
  source.pipe(check);
  if (declared === "none") return check;
  if (declared === "zstd" && hasZstdBinary()) return zstdProcessDecompress(check);
  // Gunzip accepts concatenated members (RFC 1952), as `gzip -d` does.
  const codec: Duplex =
    declared === "gzip"
      ? createGunzip({ chunkSize: options.gzipChunkBytes ?? 1 << 16 })
      : new DecompressStream();
  check.on("error", (err) => codec.destroy(err));
  check.pipe(codec);
  return wrapCorrupt(codec, declared) as unknown as Readable;
}

/** Options of {@link compress}. */
export interface CompressOptions {
  /** gzip 1-9 (default 6), zstd 1-19 (default 3). */
  level?: number;
}

/**
 * A compressing transform for `compression` (a pass-through for `none`). gzip output has no
 * name and a zero mtime in its header, so equal input gives equal bytes.
 */
export function compressor(compression: Compression, options: CompressOptions = {}): Duplex {
  const level = options.level ?? DEFAULT_LEVEL[compression];
  switch (compression) {
    case "none":
      return new PassThrough();
    case "gzip":
      if (!Number.isInteger(level) || level < 0 || level > 9) {
        throw new LayerError("UNSUPPORTED_COMPRESSION", `gzip level must be 0-9, got ${level}`);
      }
      return createGzip({ level, chunkSize: 1 << 16, memLevel: 8, strategy: zc.Z_DEFAULT_STRATEGY });
    case "zstd":
      if (!Number.isInteger(level) || level < -7 || level > 22) {
        throw new LayerError("UNSUPPORTED_COMPRESSION", `zstd level must be -7..22, got ${level}`);
      }
      // zstd's own worker threads let compression overlap with reading the tree; the output is
      // the same for any nbWorkers >= 1, so the blob stays reproducible across machines.
      return new CompressStream({ compressionLevel: level, checksumFlag: true, nbWorkers: ZSTD_WORKERS });
    default:
      throw new LayerError("UNSUPPORTED_COMPRESSION", `unknown compression ${JSON.stringify(compression)}`);
  }
}
