/**
 * Packs on a worker thread and streams the tar back: a pack walks the tree with synchronous
 * calls (fast, but it would stall a daemon's every other request for the whole walk), so a
 * daemon runs it here. The stream is pulled: the worker sends one batch (about 1 MiB) per
 * request, so a slow reader holds at most a few batches in memory. Destroying the stream
 * terminates the worker.
 */
import { Readable } from "node:stream";
import { Worker } from "node:worker_threads";
import { LayerError, type LayerErrorCode } from "./error.js";
import type { PackOptions } from "./pack.js";

/** What the pack worker packs. */
export type PackJob =
  /** A whole directory's contents ({@link packDirectory}); `overlay` for an upper directory. */
  | { kind: "directory"; root: string; options: PackOptions }
  /** One path under a name ({@link packPath}). */
  | { kind: "path"; path: string; name: string; options: PackOptions };

/** A message of the pack worker. */
export type PackReply =
  | { chunk: Uint8Array }
  | { end: true }
  | { error: { code: LayerErrorCode; message: string } };

/** The worker's heap bound: a runaway pack fails there, not in the daemon. */
const WORKER_HEAP_MB = 512;

/**
 * The tar of `job`, packed on a worker thread (see the module comment). Errors of the pack
 * (a missing source, a file that changed size while read) destroy the stream with the
 * `LayerError` the pack threw.
 */
export function packStream(job: PackJob): Readable {
  const worker = new Worker(new URL("./pack-thread-main.js", import.meta.url), {
    workerData: job,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
  });
  let asked = false;
  let done = false;
  const out = new Readable({
    highWaterMark: 2 << 20,
    read() {
      if (asked || done) return;
      asked = true;
      worker.postMessage("pull");
    },
    destroy(err, cb) {
      done = true;
      void worker.terminate();
      cb(err);
    },
  });
  worker.on("message", (m: PackReply) => {
    asked = false;
    if ("chunk" in m) {
      out.push(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength));
    } else if ("end" in m) {
      done = true;
      out.push(null);
      void worker.terminate();
    } else {
      done = true;
      out.destroy(new LayerError(m.error.code, m.error.message));
    }
  });
  worker.once("error", (err: Error & { code?: string }) => {
    if (done) return;
    done = true;
    out.destroy(
      new LayerError(
        "INVALID_SOURCE",
        err.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? `packing: the pack went over its ${WORKER_HEAP_MB} MB memory bound`
          : `packing: ${err.message}`,
        { cause: err },
      ),
    );
  });
  worker.once("exit", (code) => {
    if (done) return;
    done = true;
    out.destroy(new LayerError("INVALID_SOURCE", `packing: the pack thread exited (${code})`));
  });
  return out;
}
