import { PierError } from "../errors.js";

/** Codes of {@link RuntimeError}: problems of the OCI runtime (`src/runtime`). */
export type RuntimeErrorCode =
  | "INVALID_CONFIG"
  | "CONTAINER_EXISTS"
  | "CONTAINER_NOT_FOUND"
  | "INVALID_ID"
  | "INVALID_STATE"
  | "HOOK_FAILED"
  | "HELPER_FAILED"
  | "HELPER_MISSING"
  | "INVALID_ARGUMENT"
  | "UNSUPPORTED"
  | "PROTOCOL";

/** Error of the runtime layer; the CLI prints its message as runc would and exits 1. */
export class RuntimeError extends PierError {
  declare readonly code: RuntimeErrorCode;
  constructor(
    code: RuntimeErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
