/**
 * Pure parsing of the byte-range headers the blob endpoints use: a client's `Range` on blob
 * `GET` (RFC 9110, one range), and `Content-Range` on an upload `PATCH` (distribution writes
 * `<start>-<end>`, some clients `bytes <start>-<end>/<total>`).
 */

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Resolves a `Range: bytes=…` header against a blob of `size` bytes. Returns `undefined` when the
 * header is absent or not a single byte range (the whole blob is then served, as RFC 9110
 * allows), `"unsatisfiable"` when it starts past the end, else the clamped range.
 */
export function resolveRange(
  header: string | undefined,
  size: number,
): ByteRange | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { start, end };
}

/**
 * Parses an upload chunk's `Content-Range`. Returns `undefined` for an absent header and
 * `"invalid"` for one that is not `start-end` with `start <= end`.
 */
export function parseContentRange(header: string | undefined): ByteRange | "invalid" | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) return "invalid";
  const start = Number(m[1]);
  const end = Number(m[2]);
  return end < start ? "invalid" : { start, end };
}

/** The `Range` header value distribution sends for an upload holding `size` bytes (`0-0` when empty). */
export function uploadRangeHeader(size: number): string {
  return `0-${size > 0 ? size - 1 : 0}`;
}
