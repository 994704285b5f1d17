import { PierError } from "../errors.js";

/** Codes of {@link LayerError}: problems packing, compressing, reading or applying a layer. */
export type LayerErrorCode =
  /** The stream's magic bytes contradict the compression its media type declares. */
  | "COMPRESSION_MISMATCH"
  /** A media type that is not a layer media type, or a compression pier does not know. */
  | "UNSUPPORTED_COMPRESSION"
  /** The compressed stream is truncated or corrupt. */
  | "CORRUPT_STREAM"
  /** The tar stream is malformed (bad checksum, truncated entry, bad number field). */
  | "INVALID_TAR"
  /** A tar entry type pier does not apply (sparse, multi-volume, …). */
  | "UNSUPPORTED_ENTRY"
  /** An entry's path, or a hard link's target, would leave the root. */
  | "PATH_ESCAPE"
  /** Resolving a path inside the root met too many symlinks. */
  | "SYMLINK_LOOP"
  /** A hard link names a target that does not exist inside the root. */
  | "LINK_TARGET_MISSING"
  /** Device nodes cannot be created by a non-root process. */
  | "DEVICE_NOT_PERMITTED"
  /** The uncompressed tar's digest differs from the expected diff_id. */
  | "DIFF_ID_MISMATCH"
  /** The source of a pack or diff is not a readable directory, or holds something unsupported. */
  | "INVALID_SOURCE"
  /** Reading or writing extended attributes failed. */
  | "XATTR_FAILED"
  /** A filesystem operation failed while applying an entry (the message names the entry). */
  | "APPLY_FAILED"
  /** The apply was stopped because its caller went away (its destination is to be discarded). */
  | "CANCELLED";

/** Error of the layer layer (`src/layer`). */
export class LayerError extends PierError {
  declare readonly code: LayerErrorCode;
  constructor(
    code: LayerErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
