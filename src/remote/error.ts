import { PierError } from "../errors.js";

/** Codes of {@link RemoteError}: problems talking to a registry or moving an image. */
export type RemoteErrorCode =
  | "UNAUTHORIZED"
  | "DENIED"
  | "NOT_FOUND"
  | "TOO_MANY_REQUESTS"
  | "REGISTRY_ERROR"
  | "NETWORK"
  | "INSECURE_REFUSED"
  | "DIGEST_MISMATCH"
  | "SIZE_MISMATCH"
  | "TOO_LARGE"
  | "INVALID_RESPONSE"
  | "INVALID_TRANSPORT"
  | "INVALID_REFERENCE"
  | "NO_MATCHING_PLATFORM"
  | "CREDENTIAL_HELPER"
  | "UNSUPPORTED"
  | "INVALID_REGISTRIES_CONF"
  | "REGISTRY_BLOCKED"
  | "SHORT_NAME";

/** Error of the registry client layer (`src/remote`). */
export class RemoteError extends PierError {
  declare readonly code: RemoteErrorCode;
  constructor(
    code: RemoteErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
