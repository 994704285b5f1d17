import { ContentError } from "./error.js";
import type { BlobInfo, Expected } from "./store.js";

/**
 * Compares what was written with what the caller expected. Pure: returns the error to throw
 * (size first, since a size mismatch explains a digest mismatch), or `undefined` when it matches.
 */
export function checkExpected(expected: Expected, actual: BlobInfo): ContentError | undefined {
  if (expected.size !== undefined && expected.size !== actual.size) {
    const what = expected.digest ?? actual.digest;
    return new ContentError(
      "SIZE_MISMATCH",
      `blob ${what}: size mismatch: expected ${expected.size} bytes, got ${actual.size}`,
      { detail: { expected: expected.size, actual: actual.size, digest: what } },
    );
  }
  if (expected.digest !== undefined && expected.digest !== actual.digest) {
    return new ContentError(
      "DIGEST_MISMATCH",
      `digest mismatch: expected ${expected.digest}, got ${actual.digest}`,
      {
        detail: { expected: expected.digest, actual: actual.digest },
      },
    );
  }
  return undefined;
}

/** The error for a source that already sent more bytes than `expected.size`, raised before reading the rest. */
export function oversizeError(expected: Expected, seen: number): ContentError {
  const what = expected.digest ?? "blob";
  return new ContentError(
    "SIZE_MISMATCH",
    `blob ${what}: size mismatch: expected ${expected.size} bytes, got more (at least ${seen})`,
    { detail: { expected: expected.size, actual: seen, digest: what } },
  );
}
