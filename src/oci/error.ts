import { PierError } from "../errors.js";

/** Codes of {@link OciError}: problems with a spec document, a digest, a reference or a platform. */
export type OciErrorCode =
  | "INVALID_DIGEST"
  | "UNSUPPORTED_DIGEST_ALGORITHM"
  | "DIGEST_MISMATCH"
  | "SIZE_MISMATCH"
  | "INVALID_DOCUMENT"
  | "INVALID_JSON"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "INVALID_REFERENCE"
  | "NO_MATCHING_PLATFORM"
  | "INVALID_PLATFORM"
  | "UNSUPPORTED_CONVERSION"
  | "USER_NOT_FOUND"
  | "NO_COMMAND";

/** Error of the spec-types layer (`src/oci`). */
export class OciError extends PierError {
  declare readonly code: OciErrorCode;
  constructor(
    code: OciErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
