/**
 * Checkpoint archives on the wire and on disk: packing a checkpoint directory into podman's
 * archive (a tar, zstd- or gzip-compressed or not) by GNU tar in a child process (hundreds of
 * megabytes of memory pages never pass through pierd's event loop), and receiving one from a
 * stranger: unpacked by pier's own layer applier on a worker thread (nothing outside the
 * destination is ever written) into a fresh directory that the caller removes on any error,
 * while it is still arriving (streamed through a FIFO under a size bound), so that receiving and
 * unpacking overlap.
 */
import { execFile, spawn } from "node:child_process";
import { closeSync, constants, existsSync, openSync, readSync } from "node:fs";
import { readdir, readlink } from "node:fs/promises";
import { Socket } from "node:net";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
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

/** Packs checkpoint directory `dir` (see {@link CHECKPOINT_FILES}) as a podman archive. */
export function packCheckpoint(dir: string, compression: ArchiveCompression): PackedArchive {
  const entries = archiveEntries(dir);
  if (!entries.includes(CHECKPOINT_FILES.images))
    throw new EngineError("NOT_FOUND", `${dir} holds no checkpoint (${CHECKPOINT_FILES.images}/ is missing)`);
  const flag = compression === "zstd" ? ["--zstd"] : compression === "gzip" ? ["--gzip"] : [];
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

/** Makes FIFO `path` (mode 0600): Node.js has no mkfifo. */
function mkfifo(path: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile("mkfifo", ["-m", "0600", path], (err) =>
      err
        ? reject(new EngineError("CREATE_FAILED", `mkfifo ${path}: ${err.message}`, { cause: err }))
        : resolve(),
    ),
  );
}

/** Whether a descriptor of this process other than `fd` has FIFO `path` open (the worker's). */
async function openedElsewhere(path: string, fd: number): Promise<boolean> {
  for (const name of await readdir("/proc/self/fd").catch(() => [] as string[])) {
    if (Number(name) === fd) continue;
    if ((await readlink(`/proc/self/fd/${name}`).catch(() => "")) === path) return true;
  }
  return false;
}

/**
 * Unpacks the archive arriving on `source` into `dir` (an empty directory) while it arrives:
 * the bytes go through FIFO `fifo` (made here) into the layer applier's worker, the compression
 * read from the first bytes. The FIFO is held open read-write by this process, so no open ever
 * blocks and a worker that dies never blocks a write (the socket on it buffers, then is
 * destroyed). Beyond `maxBytes`, a broken or hostile archive: `INVALID_ARGUMENT` naming the
 * problem; `dir` then holds part of it. Resolves with the bytes received.
 */
export async function receiveAndUnpack(
  source: Readable,
  dir: string,
  fifo: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<number> {
  await mkfifo(fifo);
  const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  const sink = new Socket({ fd, readable: false, writable: true });
  let applied = false;
  let total = 0;
  let sniffed: (c: ReturnType<typeof sniffCompression> | "empty") => void = () => {};
  const compression = new Promise<ReturnType<typeof sniffCompression> | "empty">((r) => {
    sniffed = r;
  });
  const bound = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (total === 0 && chunk.length > 0) sniffed(sniffCompression(chunk.subarray(0, 4)));
      total += chunk.length;
      if (total > maxBytes)
        cb(new EngineError("INVALID_ARGUMENT", `checkpoint archive larger than ${maxBytes} bytes: refused`));
      else cb(null, chunk);
    },
    flush(cb) {
      sniffed("empty");
      cb();
    },
  });
  // The socket closes its descriptor as soon as it is ended: it is ended only once the worker
  // opened the FIFO (else the bytes would go with the pipe, and the worker's open would wait
  // for a writer forever) and all bytes are in it.
  const received = new Promise<void>((resolve, reject) => {
    for (const s of [source, bound, sink]) s.once("error", reject);
    bound.once("end", resolve);
    source.pipe(bound).pipe(sink, { end: false });
  });
  // Whichever fails first decides the error; the other is then stopped. Either way the socket
  // closes only once no worker will open the FIFO any more.
  let receiveError: unknown;
  const closeWhenOpened = async (close: () => void) => {
    if ((await compression) !== "empty")
      while (!applied && !(await openedElsewhere(fifo, fd))) await sleep(5);
    close();
  };
  received.then(
    () => closeWhenOpened(() => sink.end()),
    (err: unknown) => {
      receiveError = err;
      sniffed("empty");
      source.unpipe(bound);
      return closeWhenOpened(() => sink.destroy());
    },
  );
  const kind = await compression;
  if (kind === "empty") {
    await received.catch(() => {});
    if (receiveError) throw receiveError;
    throw new EngineError("INVALID_ARGUMENT", "invalid checkpoint archive: it is empty");
  }
  try {
    await applyLayerFile(dir, fifo, { compression: kind ?? "none", xattrs: false }, signal ? { signal } : {});
    applied = true;
  } catch (err) {
    applied = true;
    // A receive that failed first (it cut the archive short) is what went wrong.
    if (receiveError) throw receiveError;
    // The rest is read and dropped (still under the bound), so that the sender gets the answer.
    received.catch(() => {});
    bound.unpipe(sink);
    bound.resume();
    sink.destroy();
    throw new EngineError("INVALID_ARGUMENT", `invalid checkpoint archive: ${(err as Error).message}`, {
      cause: err,
    });
  }
  await received;
  if (!existsSync(join(dir, CHECKPOINT_FILES.images)))
    throw new EngineError(
      "INVALID_ARGUMENT",
      `invalid checkpoint archive: no ${CHECKPOINT_FILES.images}/ directory (not a podman or pier checkpoint)`,
    );
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
