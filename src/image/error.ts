import { PierError } from "../errors.js";

/** Codes of {@link ImageError}. */
export type ImageErrorCode =
  | "IMAGE_NOT_FOUND"
  | "AMBIGUOUS_REFERENCE"
  | "INVALID_IMAGE"
  | "DIFF_ID_MISMATCH"
  | "IMAGE_IN_USE"
  | "INVALID_ARGUMENT"
  | "BUNDLE_EXISTS";

/** Error of the image layer (`src/image`): operations on whole images. */
export class ImageError extends PierError {
  declare readonly code: ImageErrorCode;
  constructor(
    code: ImageErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
