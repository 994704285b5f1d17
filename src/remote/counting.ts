import { type Readable, Transform, type TransformCallback } from "node:stream";
import type { BytesCallback } from "./client.js";

/**
 * Pipes `source` through a pass-through that reports the running byte count to `onBytes`
 * without changing the stream's flow (no `data` listener on the source, so nothing is lost
 * before the consumer attaches). Errors of the source are forwarded.
 */
export function countBytes(source: Readable, onBytes: BytesCallback | undefined): Readable {
  if (!onBytes) return source;
  let n = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      n += chunk.length;
      onBytes(n);
      done(null, chunk);
    },
  });
  source.on("error", (err) => t.destroy(err));
  t.on("close", () => {
    if (!source.destroyed && !source.readableEnded) source.destroy();
  });
  return source.pipe(t);
}
