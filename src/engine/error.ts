import { PierError } from "../errors.js";

/** Codes of {@link EngineError}; the API edges map them to HTTP statuses in one place. */
export type EngineErrorCode =
  | "NOT_FOUND"
  | "IMAGE_NOT_FOUND"
  | "NAME_CONFLICT"
  | "INVALID_STATE"
  | "INVALID_ARGUMENT"
  | "SNAPSHOT_FAILED"
  | "MONITOR_FAILED"
  | "CREATE_FAILED"
  | "UNSUPPORTED";

/** Error of the engine layer (`src/engine`): containers, snapshots, the daemon's services. */
export class EngineError extends PierError {
  declare readonly code: EngineErrorCode;
  constructor(
    code: EngineErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
