/**
 * A layer blob decompressed on a thread of its own, handed to the applying thread in large
 * chunks. The applier spends its time in synchronous file-system calls and tar parsing, during
 * which its event loop does not run: a decompressor driven by that loop (a zlib stream, a
 * `zstd` process's pipe) would stall whenever the applier is busy, and the two would take turns
 * instead of overlapping. Here the decompressor runs ahead on its own thread by up to
 * {@link WINDOW_CHUNKS} chunks of 1 MiB (`file-tar.ts`: the memory bound). The diff_id is
 * computed by the reader (`applyLayerFromFile`), not here: see there why.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import type { Compression } from "../oci/media-types.js";
import { LayerError, type LayerErrorCode } from "./error.js";

/** Chunks the decompressor may have handed over and the applier not yet taken. */
export const WINDOW_CHUNKS = 8;

/** The decompressing worker's heap bound: chunks are off-heap, so it needs little. */
const WORKER_HEAP_MB = 64;

/** What the decompress worker is asked to do. */
export interface DecompressJob {
  path: string;
  compression: Compression;
  port: MessagePort;
}

/** A message of the decompress worker. */
export type DecompressReply =
  | { chunk: Uint8Array }
  | { end: true }
  | { error: { code: LayerErrorCode; message: string; detail?: Record<string, unknown> } };

/** The uncompressed tar of a layer file, produced on another thread (see the module comment). */
export interface ThreadedTar extends AsyncIterable<Buffer> {
  /** Stops the thread (early exit or error); harmless after the end. */
  close(): void;
  /** Chunks received and not yet taken: never more than {@link WINDOW_CHUNKS}. */
  readonly buffered: number;
}

/**
 * Decompresses the file at `path` as `compression` (checked against its magic bytes) on a
 * worker thread. Iterate the result once; errors are the `LayerError`s of `decompress`
 * (`COMPRESSION_MISMATCH`, `CORRUPT_STREAM`) or a read error naming the file.
 */
export function decompressFileInThread(path: string, compression: Compression): ThreadedTar {
  const { port1, port2 } = new MessageChannel();
  const job: DecompressJob = { path, compression, port: port2 };
  const worker = new Worker(new URL("./decompress-thread-main.js", import.meta.url), {
    workerData: job,
    transferList: [port2],
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
  });
  const queue: Buffer[] = [];
  let finished = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let closed = false;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const fail = (err: Error) => {
    failure ??= err;
    notify();
  };
  const receive = (m: DecompressReply) => {
    if ("chunk" in m) queue.push(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength));
    else if ("end" in m) finished = true;
    else
      fail(new LayerError(m.error.code, m.error.message, m.error.detail ? { detail: m.error.detail } : {}));
    notify();
  };
  port1.on("message", receive);
  worker.once("error", (err: Error & { code?: string }) =>
    fail(
      new LayerError(
        "APPLY_FAILED",
        err.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? `decompressing ${path}: over the ${WORKER_HEAP_MB} MB memory bound`
          : `decompressing ${path}: ${err.message}`,
        { cause: err },
      ),
    ),
  );
  worker.once("exit", (code) => {
    if (closed) return;
    // The exit may be seen before the last messages were dispatched: take them first.
    for (let m = receiveMessageOnPort(port1); m; m = receiveMessageOnPort(port1))
      receive(m.message as DecompressReply);
    if (!finished) fail(new LayerError("APPLY_FAILED", `decompressing ${path}: the thread exited (${code})`));
  });
  const close = () => {
    if (closed) return;
    closed = true;
    port1.close();
    void worker.terminate();
  };
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const next = queue.shift();
        if (next) {
          // Taken: the decompressor may produce one more.
          port1.postMessage("credit");
          yield next;
          continue;
        }
        if (failure) throw failure;
        if (finished) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      close();
    }
  }
  return {
    [Symbol.asyncIterator]: chunks,
    close,
    get buffered() {
      return queue.length;
    },
  };
}
