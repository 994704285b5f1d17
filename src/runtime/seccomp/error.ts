import { PierError } from "../../errors.js";

/** Codes of {@link SeccompError}. */
export type SeccompErrorCode =
  /** The profile is valid per the spec but cannot be honoured (e.g. SCMP_ACT_NOTIFY as default action). */
  | "INVALID_PROFILE"
  /** The host (native) architecture has no syscall table in pier. */
  | "UNSUPPORTED_ARCH"
  /** The compiled program exceeds the kernel's BPF_MAXINSNS (4096) instructions. */
  | "PROGRAM_TOO_LARGE";

/** Error of the seccomp compiler (`src/runtime/seccomp`). */
export class SeccompError extends PierError {
  declare readonly code: SeccompErrorCode;
  constructor(
    code: SeccompErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
