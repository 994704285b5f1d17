/**
 * Runs one `pier` command line for an io: the plain CLI's process, or a caller of the CLI
 * service (`service/`). Resolves with the exit status.
 */
import { runCommand } from "./edge.js";
import { type CommandIo, withCommandIo } from "./io.js";
import { buildProgram } from "./program.js";

/** Runs `argv` (the arguments after `pier`) with `io`; resolves with the exit status. */
export function runPierCli(argv: readonly string[], io: CommandIo): Promise<number> {
  return withCommandIo(io, () =>
    runCommand("pier", io, async () => {
      await buildProgram(argv).parseAsync([...argv], { from: "user" });
    }),
  );
}
