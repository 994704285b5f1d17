/**
 * Layer compression codecs: gzip (node:zlib), zstd (zstd-napi) and none, chosen by media type
 * and checked against the stream's magic bytes.
 */
import { availableParallelism } from "node:os";
import { type Duplex, PassThrough, type Readable, Transform, type TransformCallback } from "node:stream";
import { createGunzip, createGzip, constants as zc } from "node:zlib";
import { CompressStream, DecompressStream } from "zstd-napi";
import { type Compression, layerCompression } from "../oci/media-types.js";
import { LayerError } from "./error.js";
import { hasZstdBinary, zstdProcessDecompress } from "./zstd-process.js";

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
 * The compression a layer media type declares. Throws `LayerError` `UNSUPPORTED_COMPRESSION`
 * for a media type that is not a layer.
 */
export function compressionForMediaType(mediaType: string): Compression {
  const c = layerCompression(mediaType);
  if (!c)
    throw new LayerError("UNSUPPORTED_COMPRESSION", `not a layer media type: ${JSON.stringify(mediaType)}`);
  return c;
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
    const head = this.head as Buffer;
    const actual = sniffCompression(head) ?? (final ? "none" : undefined);
    if (actual === undefined) return undefined;
    if (this.declared === "none" ? actual !== "none" : actual !== this.declared) {
      return new LayerError(
        "COMPRESSION_MISMATCH",
        `layer declared as ${this.declared === "none" ? "uncompressed" : this.declared} but the stream is ${actual === "none" ? "not compressed" : actual}`,
        { detail: { declared: this.declared, actual } },
      );
    }
    return undefined;
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
    else if (this.head.length === 0) done(new LayerError("CORRUPT_STREAM", "layer stream is empty"));
    else done(this.check(true) ?? null, this.head);
  }
}

function wrapCorrupt(stream: Duplex, codec: string): Duplex {
  // Codec errors become LayerError so callers can branch on a stable code.
  const out = new PassThrough();
  stream.on("error", (err: unknown) => {
    out.destroy(
      err instanceof LayerError
        ? err
        : new LayerError(
            "CORRUPT_STREAM",
            `${codec} stream is corrupt or truncated: ${(err as Error).message}`,
            { cause: err },
          ),
    );
  });
  stream.pipe(out);
  return out;
}

/** Options of {@link decompress}. */
export interface DecompressOptions {
  /**
   * The caller is a thread that does nothing but decompress (see `decompress-thread.ts`): zstd
   * is decoded on it with zstd-napi, which costs less CPU than a `zstd` process and its pipe,
   * and gzip in larger pieces. Otherwise zstd runs in a `zstd` process when one is installed, so
   * that a thread that also applies files does not decode too.
   */
  dedicatedThread?: boolean;
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
  if (declared === "zstd" && !options.dedicatedThread && hasZstdBinary()) return zstdProcessDecompress(check);
  // Gunzip accepts concatenated members (RFC 1952), as `gzip -d` does. Larger output pieces
  // cost less per byte (fewer calls across the thread pool); 64 KiB keeps the memory of many
  // concurrent streams small.
  const codec: Duplex =
    declared === "gzip"
      ? createGunzip({ chunkSize: options.dedicatedThread ? 1 << 20 : 1 << 16 })
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
