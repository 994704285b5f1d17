import type { BlobSource } from "./store.js";

/**
 * Turns any {@link BlobSource} into an async iterable of byte chunks, so that every ingest path
 * consumes one shape. Strings are UTF-8 encoded; a `Uint8Array` is yielded as one chunk.
 */
export async function* chunksOf(source: BlobSource): AsyncGenerator<Uint8Array> {
  if (typeof source === "string") {
    yield Buffer.from(source, "utf8");
    return;
  }
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    yield typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
  }
}
