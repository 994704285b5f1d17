/**
 * The CLI's one error edge: every error that reaches a command's top is turned here, and only
 * here, into a message on stderr and an exit status.
 */
import { CommanderError } from "commander";
import { PierError } from "../errors.js";
import { type CommandIo, NeedsOwnProcess } from "./io.js";

/** Exit statuses of the `pier` CLI. */
export const ExitCode = {
  ok: 0,
  /** The operation failed (bad input, a digest mismatch, a refused layer, a network error). */
  failure: 1,
  /** The command line itself is wrong (unknown flag, missing argument). */
  usage: 2,
  /** A named thing does not exist (image, blob, container). */
  notFound: 3,
} as const;

const NOT_FOUND_CODES = new Set([
  "NOT_FOUND",
  "IMAGE_NOT_FOUND",
  "MANIFEST_UNKNOWN",
  "BLOB_UNKNOWN",
  "NAME_UNKNOWN",
]);

/** Maps an error to the exit status the CLI reports for it. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  if (err instanceof PierError) return NOT_FOUND_CODES.has(err.code) ? ExitCode.notFound : ExitCode.failure;
  return ExitCode.failure;
}

/** Formats an error for a person: the message, its code, and the causes chained below it. */
export function describeError(err: unknown, debug = false): string {
  if (err instanceof PierError) {
    let text = `${err.message} [${err.code}]`;
    if (debug && err.stack) text += `\n${err.stack}`;
    let cause = err.cause;
    while (cause instanceof Error) {
      // A cause the message already quotes (`GET …: connect ECONNREFUSED …`) adds only noise.
      if (!text.includes(cause.message)) text += `\n  caused by: ${cause.message}`;
      cause = cause.cause;
    }
    return text;
  }
  if (err instanceof Error) {
    const errno = (err as NodeJS.ErrnoException).code;
    return debug && err.stack ? err.stack : errno ? `${err.message}` : err.message;
  }
  return String(err);
}

/**
 * Runs a command's main function for `io`: prints a failing error once as `<prog>: <message>` on
 * its stderr and resolves with the exit status ({@link exitCodeFor}, or the status the command
 * set). Commander has already printed its own usage errors. {@link NeedsOwnProcess} is rethrown:
 * it is not a failure but a request to run elsewhere.
 */
export async function runCommand(prog: string, io: CommandIo, main: () => Promise<void>): Promise<number> {
  try {
    await main();
    return io.exitCode ?? ExitCode.ok;
  } catch (err) {
    if (err instanceof NeedsOwnProcess) throw err;
    if (!(err instanceof CommanderError))
      io.stderr(`${prog}: ${describeError(err, io.env.PIER_DEBUG === "1")}\n`);
    return exitCodeFor(err);
  }
}
