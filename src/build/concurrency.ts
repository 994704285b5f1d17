/**
 * Bounded concurrency for the builder's many small file operations: a COPY of thousands of
 * files is thousands of lstat/copy/chown calls, each a trip to libuv's thread pool; awaited one
 * by one they cost a round trip each, run a few dozen at a time they keep the pool busy.
 */

/** How many file operations run at once. */
export const FILE_CONCURRENCY = 8;

/** Maps `items` through `fn` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
