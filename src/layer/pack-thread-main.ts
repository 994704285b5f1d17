/**
 * The worker thread of {@link packStream}: packs one job and sends the tar one batch per
 * `pull` message. Not imported by anything; `pack-thread.ts` starts it by URL.
 */
import type { Readable } from "node:stream";
import { parentPort, workerData } from "node:worker_threads";
import { LayerError } from "./error.js";
import { packDirectory } from "./pack.js";
import { packPath } from "./pack-path.js";
import type { PackJob, PackReply } from "./pack-thread.js";

const job = workerData as PackJob;
const port = parentPort;

function fail(err: unknown): PackReply {
  return err instanceof LayerError
    ? { error: { code: err.code, message: err.message } }
    : { error: { code: "INVALID_SOURCE", message: (err as Error).message } };
}

let chunks: AsyncIterator<Buffer> | undefined;
let opening: Promise<Readable> | undefined;

async function next(): Promise<PackReply> {
  try {
    if (!chunks) {
      opening ??=
        job.kind === "directory"
          ? packDirectory(job.root, job.options)
          : packPath(job.path, job.name, job.options);
      chunks = (await opening)[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    }
    const r = await chunks.next();
    if (r.done) return { end: true };
    // A copy of its own, so its memory can be handed over instead of copied again.
    return { chunk: new Uint8Array(r.value) };
  } catch (err) {
    return fail(err);
  }
}

port?.on("message", () => {
  void next().then((reply) => {
    if ("chunk" in reply) port.postMessage(reply, [reply.chunk.buffer as ArrayBuffer]);
    else port.postMessage(reply);
  });
});
