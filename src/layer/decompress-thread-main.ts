/**
 * The worker thread of {@link decompressFileInThread}: reads and decompresses one layer file
 * ({@link fileTar}) and hands the chunks over, at most `WINDOW_CHUNKS` ahead of the
 * applier's credits. Not imported by anything; `decompress-thread.ts` starts it by URL.
 */
import { workerData } from "node:worker_threads";
import type { DecompressJob, DecompressReply } from "./decompress-thread.js";
import { WINDOW_CHUNKS } from "./decompress-thread.js";
import { LayerError } from "./error.js";
import { fileTar } from "./file-tar.js";

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

try {
  for await (const chunk of fileTar(job.path, job.compression)) {
    while (credits === 0) await new Promise<void>((resolve) => (waiting = resolve));
    credits--;
    const reply: DecompressReply = { chunk };
    // Each chunk owns its memory (fileTar's promise): handed over, not copied.
    port.postMessage(reply, [chunk.buffer as ArrayBuffer]);
  }
  const end: DecompressReply = { end: true };
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
