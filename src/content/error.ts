import { PierError } from "../errors.js";

/** Codes of {@link ContentError}. */
export type ContentErrorCode =
  | "NOT_FOUND"
  | "DIGEST_MISMATCH"
  | "SIZE_MISMATCH"
  | "INGEST_IN_PROGRESS"
  | "INVALID_LAYOUT"
  | "LOCKED"
  | "ABORTED"
  | "INVALID_RANGE"
  | "TOO_LARGE"
  | "INVALID_REF_NAME";

/** Error of the content layer (`src/content`). */
export class ContentError extends PierError {
  declare readonly code: ContentErrorCode;
  constructor(
    code: ContentErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
