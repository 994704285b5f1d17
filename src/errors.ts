/**
 * The one base class for every error pier raises on purpose.
 *
 * Each layer defines its own subclass (`OciError`, `ContentError`, `LayerError`, …) with a
 * closed set of stable `code` strings. The edges (CLI exit status and message, HTTP status and
 * spec error body) translate codes in one place each; nothing in between matches on messages.
 */
export class PierError extends Error {
  /** Stable, machine-readable identifier, e.g. `DIGEST_MISMATCH`. Never reworded. */
  readonly code: string;
  /** Optional structured detail for the edges (a path, a digest, an offending entry). */
  readonly detail?: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options?.detail) this.detail = options.detail;
  }
}

/** True when `err` is a `PierError` (optionally with the given code). */
export function isPierError(err: unknown, code?: string): err is PierError {
  return err instanceof PierError && (code === undefined || err.code === code);
}

/** True when `err` is a Node.js system error with the given errno code (e.g. `ENOENT`). */
export function isErrno(err: unknown, code: string): err is NodeJS.ErrnoException {
  return typeof err === "object" && err !== null && (err as NodeJS.ErrnoException).code === code;
}
