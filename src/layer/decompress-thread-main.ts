/**
 * The worker thread of {@link decompressFileInThread}: reads, decompresses and digests one
 * layer file and sends the tar in chunks, at most `WINDOW_CHUNKS` ahead of the applier's
 * credits. Not imported by anything; `decompress-thread.ts` starts it by URL.
 */
import { createReadStream } from "node:fs";
import { workerData } from "node:worker_threads";
import { Digester } from "../oci/digest.js";
import { decompress } from "./compression.js";
import type { DecompressJob, DecompressReply } from "./decompress-thread.js";
import { CHUNK_BYTES, WINDOW_CHUNKS } from "./decompress-thread.js";
import { LayerError } from "./error.js";

const job = workerData as DecompressJob;
const port = job.port;
let credits = WINDOW_CHUNKS;
let waiting: (() => void) | undefined;
port.on("message", () => {
  credits++;
  const w = waiting;
  waiting = undefined;
  w?.();
});

let batch = new Uint8Array(CHUNK_BYTES);
let filled = 0;

async function send(): Promise<void> {
  if (filled === 0) return;
  while (credits === 0) await new Promise<void>((resolve) => (waiting = resolve));
  credits--;
  const reply: DecompressReply = { chunk: batch.subarray(0, filled) };
  port.postMessage(reply, [batch.buffer]);
  batch = new Uint8Array(CHUNK_BYTES);
  filled = 0;
}

try {
  const digester = new Digester();
  const tar = decompress(createReadStream(job.path, { highWaterMark: 1 << 20 }), job.compression, {
    dedicatedThread: true,
  });
  for await (const piece of tar as AsyncIterable<Buffer>) {
    digester.update(piece);
    let off = 0;
    while (off < piece.length) {
      const k = Math.min(piece.length - off, CHUNK_BYTES - filled);
      batch.set(piece.subarray(off, off + k), filled);
      filled += k;
      off += k;
      if (filled === CHUNK_BYTES) await send();
    }
  }
  await send();
  const end: DecompressReply = { end: true, digest: digester.digest(), size: digester.size };
  port.postMessage(end);
} catch (err) {
  const reply: DecompressReply =
    err instanceof LayerError
      ? {
          error: {
            code: err.code,
            message: err.message,
            ...(err.detail ? { detail: err.detail as Record<string, unknown> } : {}),
          },
        }
      : { error: { code: "APPLY_FAILED", message: `reading ${job.path}: ${(err as Error).message}` } };
  port.postMessage(reply);
}
port.close();
