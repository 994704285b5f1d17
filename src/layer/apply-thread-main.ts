/**
 * The worker thread of {@link applyLayerFile}: applies one layer file and posts the result.
 * Not imported by anything; `apply-thread.ts` starts it by URL.
 */
import { createReadStream } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { applyLayer } from "./apply.js";
import type { ApplyJob, ApplyReply } from "./apply-thread.js";
import { LayerError } from "./error.js";

const job = workerData as ApplyJob;
let reply: ApplyReply;
try {
  reply = {
    ok: true,
    stats: await applyLayer(job.root, createReadStream(job.path, { highWaterMark: 1 << 20 }), job.options),
  };
} catch (err) {
  reply =
    err instanceof LayerError
      ? {
          ok: false,
          code: err.code,
          message: err.message,
          ...(err.detail ? { detail: err.detail as Record<string, unknown> } : {}),
        }
      : { ok: false, code: "APPLY_FAILED", message: (err as Error).message };
}
parentPort?.postMessage(reply);
