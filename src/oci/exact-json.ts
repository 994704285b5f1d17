/**
 * JSON with exact 64-bit integers, where a JavaScript number would round them: a seccomp rule's
 * argument value (a uint64) above 2^53, or RLIM_INFINITY (2^64-1) in `config.json`. Writing
 * puts a bigint as its decimal digits; reading gives a bigint for an integer literal beyond
 * 2^53 at the keys the caller names, and everything else exactly as `JSON.parse`. Pure.
 */
// An integer literal of 16 digits or more may be beyond Number.MAX_SAFE_INTEGER (16 digits).
const LONG_INTEGER = /\d{16,}/;
// A JSON string, or a number token: matched together so that digits inside strings are skipped.
const TOKENS = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * A marker for big integers while `JSON.parse`/`JSON.stringify` handle the document: 128 random
 * bits, so no input (which cannot know them) holds it. Web Crypto's global, which Node.js loads on
 * first use, rather than an import of node:crypto: documents with big integers are rare, and
 * node:crypto would otherwise be loaded by every cold start of the runtime service that validates
 * a `config.json`.
 */
function newMarker(): string {
  const bits = crypto.getRandomValues(new Uint8Array(16));
  return `\u0000bigint-${Buffer.from(bits).toString("hex")}:`;
}

/**
 * Parses JSON `text`; an integer literal beyond 2^53 under a key of `bigKeys` becomes a bigint
 * (exact), elsewhere a number as `JSON.parse` gives it. Throws `JSON.parse`'s SyntaxError.
 */
export function parseExactJson(text: string, bigKeys: ReadonlySet<string>): unknown {
  if (!LONG_INTEGER.test(text)) return JSON.parse(text);
  const marker = newMarker();
  const escaped = JSON.stringify(marker).slice(1, -1);
  const marked = text.replace(TOKENS, (tok) =>
    tok.startsWith('"') || !/^-?\d+$/.test(tok) || Number.isSafeInteger(Number(tok))
      ? tok
      : `"${escaped}${tok}"`,
  );
  return JSON.parse(marked, (key, v) => {
    if (typeof v !== "string" || !v.startsWith(marker)) return v;
    const digits = v.slice(marker.length);
    return bigKeys.has(key) ? BigInt(digits) : Number(digits);
  });
}

/** JSON text of `value` with each bigint written as its exact decimal digits. */
export function stringifyExactJson(value: unknown): string {
  let marker: string | undefined;
  const text = JSON.stringify(value, (_k, v) => {
    if (typeof v !== "bigint") return v;
    marker ??= newMarker();
    return `${marker}${v.toString()}`;
  });
  if (marker === undefined) return text;
  const quoted = JSON.stringify(marker).slice(0, -1);
  return text.split(quoted).reduce((out, part, i) => {
    if (i === 0) return part;
    const end = part.indexOf('"');
    return `${out}${part.slice(0, end)}${part.slice(end + 1)}`;
  });
}
