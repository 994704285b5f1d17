/**
 * Errors of the Dockerfile builder, each with a stable code. A Dockerfile's mistakes carry the
 * file name and line in the message (`Dockerfile:7: ...`), as BuildKit's do.
 */
import { PierError } from "../errors.js";

/** Stable codes of {@link BuildError}. */
export type BuildErrorCode =
  /** The Dockerfile does not parse, or an instruction is malformed. */
  | "DOCKERFILE_SYNTAX"
  /** A flag, instruction or option the builder does not apply (refused, never ignored). */
  | "UNSUPPORTED"
  /** A bad option of the build itself (build arg, target, context). */
  | "INVALID_ARGUMENT"
  /** A COPY/ADD source that is missing, excluded, or outside the context. */
  | "CONTEXT_PATH"
  /** A RUN step exited non-zero. */
  | "RUN_FAILED"
  /** A stage or image that FROM or --from names does not exist. */
  | "NOT_FOUND";

/** An error of the builder. */
export class BuildError extends PierError {
  declare readonly code: BuildErrorCode;
  constructor(
    code: BuildErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}

/** A `DOCKERFILE_SYNTAX` error located at `file:line`. */
export function syntaxError(file: string, line: number, message: string): BuildError {
  return new BuildError("DOCKERFILE_SYNTAX", `${file}:${line}: ${message}`, { detail: { file, line } });
}
