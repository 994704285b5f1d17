import { PierError } from "../../errors.js";

/**
 * Codes of {@link NetworkError}. `NOT_FOUND`, `INVALID_ARGUMENT` and `INVALID_STATE` share the
 * engine's codes so the API edges map them to 404, 400 and 409 without knowing this layer.
 */
export type NetworkErrorCode =
  | "NOT_FOUND"
  | "INVALID_ARGUMENT"
  | "INVALID_STATE"
  | "NAME_CONFLICT"
  /** A CNI plugin failed (its own error code and message are in the message and `detail`). */
  | "CNI_FAILED"
  /** A CNI plugin printed something that is not a valid result. */
  | "CNI_INVALID_RESULT"
  /** Creating or removing a network namespace failed. */
  | "NETNS_FAILED";

/** Error of the engine's networking (`src/engine/network`): CNI, namespaces, networks, ports. */
export class NetworkError extends PierError {
  declare readonly code: NetworkErrorCode;
  constructor(
    code: NetworkErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
