import { PierError } from "../../errors.js";

/** Codes of {@link CriuError}. */
export type CriuErrorCode =
  | "CRIU_MISSING"
  | "CRIU_TOO_OLD"
  | "CRIU_FAILED"
  | "CRIU_FEATURE_MISSING"
  | "INVALID_ARGUMENT"
  | "UNSUPPORTED";

/** A checkpoint/restore problem: CRIU missing, too old, lacking a feature, or failing. */
export class CriuError extends PierError {
  declare readonly code: CriuErrorCode;
  constructor(
    code: CriuErrorCode,
    message: string,
    options?: { cause?: unknown; errno?: number | undefined },
  ) {
    super(code, message, {
      ...(options?.cause ? { cause: options.cause } : {}),
      ...(options?.errno !== undefined ? { detail: { errno: options.errno } } : {}),
    });
  }
}
