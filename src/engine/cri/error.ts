/**
 * Errors of the CRI front, by the gRPC status they are answered with. Engine errors are
 * translated once, at the transport ({@link grpcStatusOf}).
 */
import { PierError } from "../../errors.js";

/**
 * The gRPC status codes used here (the protocol's numbers, as grpc-js's `status`), written out so
 * that the CRI's modules do not load grpc-js before the CRI socket's first connection.
 */
export const GrpcStatus = {
  OK: 0,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
} as const;

/** One of {@link GrpcStatus}'s codes. */
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

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

const ENGINE_STATUS: Record<string, GrpcStatusCode> = {
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  IMAGE_NOT_FOUND: GrpcStatus.NOT_FOUND,
  NAME_CONFLICT: GrpcStatus.ALREADY_EXISTS,
  INVALID_STATE: GrpcStatus.FAILED_PRECONDITION,
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
};

/**
 * The gRPC status of any error thrown by a handler: a {@link CriError}'s own, an engine error's
 * by its code (`NOT_FOUND`, `NAME_CONFLICT` → `ALREADY_EXISTS`, `INVALID_STATE` →
 * `FAILED_PRECONDITION`, `INVALID_ARGUMENT`), else `UNKNOWN`. Pure.
 */
export function grpcStatusOf(err: unknown): GrpcStatusCode {
  if (err instanceof CriError) return GrpcStatus[err.code];
  if (err instanceof PierError) return ENGINE_STATUS[err.code] ?? GrpcStatus.UNKNOWN;
  return GrpcStatus.UNKNOWN;
}

/** True when `err` means "no such object" (what idempotent Stop/Remove calls ignore). Pure. */
export function isNotFound(err: unknown): boolean {
  return grpcStatusOf(err) === GrpcStatus.NOT_FOUND;
}
