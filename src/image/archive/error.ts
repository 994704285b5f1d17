import { PierError } from "../../errors.js";

/** Codes of {@link ArchiveError}. */
export type ArchiveErrorCode =
  /** The archive is not a well-formed docker or OCI archive (bad JSON, a path escaping the archive). */
  | "INVALID_ARCHIVE"
  /** The archive's own index names a file or blob it does not contain. */
  | "MISSING_ENTRY"
  /** A layer's uncompressed digest is not the diff id its config declares. */
  | "DIFF_ID_MISMATCH"
  /** A name to export is not in the layout. */
  | "IMAGE_NOT_FOUND"
  /** The image cannot be written in the requested format (e.g. a blob is missing locally). */
  | "UNSUPPORTED";

/** Error of image archive import and export (`src/image/archive`). */
export class ArchiveError extends PierError {
  declare readonly code: ArchiveErrorCode;
  constructor(
    code: ArchiveErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
