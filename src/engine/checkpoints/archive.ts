/**
 * Checkpoint archives on the wire and on disk: packing a checkpoint directory into podman's
 * archive (a tar, zstd- or gzip-compressed or not) by GNU tar in a child process (hundreds of
 * megabytes of memory pages never pass through pierd's event loop), and receiving one from a
 * stranger: copied to a file under a size bound, then unpacked by pier's own layer applier on
 * a worker thread (nothing outside the destination is ever written) into a fresh directory that
 * the caller removes on any error.
 */
import { spawn } from "node:child_process";
import { closeSync, createWriteStream, existsSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { applyLayerFile, sniffCompression } from "../../layer/index.js";
import { EngineError } from "../error.js";
import { CHECKPOINT_FILES } from "./podman-format.js";

/** Compression of an exported archive (podman's `--compress`). */
export type ArchiveCompression = "zstd" | "gzip" | "none";

/** Largest archive an import accepts unless told otherwise (CRIU images of a big container). */
export const DEFAULT_MAX_ARCHIVE_BYTES = 16 * 1024 ** 3;

/** Checks a compression name. Pure. */
export function parseCompression(v: string | undefined): ArchiveCompression {
  if (v === undefined || v === "") return "zstd";
  if (v === "zstd" || v === "gzip" || v === "none") return v;
  throw new EngineError("INVALID_ARGUMENT", `invalid compression ${JSON.stringify(v)}: zstd, gzip or none`);
}

/** A running pack: its archive bytes, and its end (rejects when tar failed). */
export interface PackedArchive {
  stream: Readable;
  done: Promise<void>;
  /** Stops tar (the reader went away). */
  abort(): void;
}

/** The entries of checkpoint directory `dir` that go into an archive, in podman's order. */
function archiveEntries(dir: string): string[] {
  const f = CHECKPOINT_FILES;
  const entries: string[] = [f.config, f.spec, f.network, f.stats, f.rootfsDiff, f.deleted, f.images];
  return entries.filter((e) => existsSync(join(dir, e)));
}

/**
 * tar's compression flags. zstd runs on every core (`-T0`), as podman's encoder does (its Go
 * zstd encodes with one goroutine per CPU at its default level, zstd's 3): CRIU's page images
 * are hundreds of megabytes, and one thread compressing them was the larger part of an export.
 * `fast` (a migration's wire, where the compression time is downtime) takes level 1.
 */
function compressFlags(compression: ArchiveCompression, fast: boolean): string[] {
  if (compression === "zstd") return ["--use-compress-program", `zstd -T0 -${fast ? 1 : 3} -q`];
  return compression === "gzip" ? ["--gzip"] : [];
}

/**
 * Packs checkpoint directory `dir` (see {@link CHECKPOINT_FILES}) as a podman archive; `fast`
 * compresses at zstd's fastest level (any level decompresses the same).
 */
export function packCheckpoint(
  dir: string,
  compression: ArchiveCompression,
  opts: { fast?: boolean } = {},
): PackedArchive {
  const entries = archiveEntries(dir);
  if (!entries.includes(CHECKPOINT_FILES.images))
    throw new EngineError("NOT_FOUND", `${dir} holds no checkpoint (${CHECKPOINT_FILES.images}/ is missing)`);
  const flag = compressFlags(compression, opts.fast === true);
  const tar = spawn("tar", ["-C", dir, "--numeric-owner", ...flag, "-cf", "-", "--", ...entries], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  tar.stderr.on("data", (c: Buffer) => {
    if (stderr.length < 4096) stderr += c.toString();
  });
  const done = new Promise<void>((resolve, reject) => {
    tar.on("error", (err) => reject(new EngineError("CREATE_FAILED", `tar: ${err.message}`, { cause: err })));
    tar.on("close", (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new EngineError("CREATE_FAILED", `packing ${dir} failed: tar ${code ?? signal}: ${stderr.trim()}`),
        );
    });
  });
  done.catch(() => {});
  return { stream: tar.stdout, done, abort: () => tar.kill("SIGKILL") };
}

/** Copies `source` into file `path`, failing with `INVALID_ARGUMENT` beyond `maxBytes`. */
export async function receiveArchive(source: Readable, path: string, maxBytes: number): Promise<number> {
  let total = 0;
  const bound = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      if (total > maxBytes)
        cb(new EngineError("INVALID_ARGUMENT", `checkpoint archive larger than ${maxBytes} bytes: refused`));
      else cb(null, chunk);
    },
  });
  await pipeline(source, bound, createWriteStream(path, { mode: 0o600 }));
  return total;
}

/**
 * Unpacks the archive in file `path` into `dir` (an empty directory) with the layer applier on
 * a worker thread; the compression is read from the magic bytes. A broken or hostile archive
 * fails with `INVALID_ARGUMENT` naming the problem; `dir` then holds part of it.
 */
export async function unpackArchive(path: string, dir: string, signal?: AbortSignal): Promise<void> {
  const head = Buffer.alloc(4);
  const fd = openSync(path, "r");
  let n = 0;
  try {
    n = readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (n === 0) throw new EngineError("INVALID_ARGUMENT", "invalid checkpoint archive: it is empty");
  const compression = sniffCompression(head.subarray(0, n)) ?? "none";
  try {
    await applyLayerFile(dir, path, { compression, xattrs: false }, signal ? { signal } : {});
  } catch (err) {
    throw new EngineError("INVALID_ARGUMENT", `invalid checkpoint archive: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!existsSync(join(dir, CHECKPOINT_FILES.images)))
    throw new EngineError(
      "INVALID_ARGUMENT",
      `invalid checkpoint archive: no ${CHECKPOINT_FILES.images}/ directory (not a podman or pier checkpoint)`,
    );
}
