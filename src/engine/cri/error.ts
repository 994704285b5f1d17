/**
 * Errors of the CRI front, by the gRPC status they are answered with. Engine errors are
 * translated once, at the transport ({@link grpcStatusOf}).
 */
import { status } from "@grpc/grpc-js";
import { PierError } from "../../errors.js";

/** The gRPC statuses the CRI front answers with on its own account. */
export type CriErrorCode =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "FAILED_PRECONDITION"
  | "UNIMPLEMENTED"
  | "DEADLINE_EXCEEDED"
  | "RESOURCE_EXHAUSTED";

/** An error of the CRI front, answered with the gRPC status of the same name. */
export class CriError extends PierError {
  declare readonly code: CriErrorCode;
  constructor(code: CriErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

const ENGINE_STATUS: Record<string, status> = {
  NOT_FOUND: status.NOT_FOUND,
  IMAGE_NOT_FOUND: status.NOT_FOUND,
  NAME_CONFLICT: status.ALREADY_EXISTS,
  INVALID_STATE: status.FAILED_PRECONDITION,
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
};

/**
 * The gRPC status of any error thrown by a handler: a {@link CriError}'s own, an engine error's
 * by its code (`NOT_FOUND`, `NAME_CONFLICT` → `ALREADY_EXISTS`, `INVALID_STATE` →
 * `FAILED_PRECONDITION`, `INVALID_ARGUMENT`), else `UNKNOWN`. Pure.
 */
export function grpcStatusOf(err: unknown): status {
  if (err instanceof CriError) return status[err.code];
  if (err instanceof PierError) return ENGINE_STATUS[err.code] ?? status.UNKNOWN;
  return status.UNKNOWN;
}

/** True when `err` means "no such object" (what idempotent Stop/Remove calls ignore). Pure. */
export function isNotFound(err: unknown): boolean {
  return grpcStatusOf(err) === status.NOT_FOUND;
}
