/**
 * Runs one `pier` command line for an io: the plain CLI's process, or a caller of the CLI
 * service (`service/`). Resolves with the exit status.
 */
import type { Command } from "commander";
import { runCommand } from "./edge.js";
import { type CommandIo, withCommandIo } from "./io.js";

/** Runs `argv` (the arguments after `pier`) with `io`; resolves with the exit status. */
export function runPierCli(argv: readonly string[], io: CommandIo): Promise<number> {
  return withCommandIo(io, () =>
    runCommand("pier", io, async () => {
      await (await programFor(argv)).parseAsync([...argv], { from: "user" });
    }),
  );
}

/**
 * The command tree that parses `argv`. `pier registry …` gets only its own command:
 * `pier registry serve` runs for days in a process of its own, where the other commands' modules
 * (some 50 files, ~3.6 MiB of heap) would stay loaded for nothing. Everything else gets
 * `program.ts`'s tree. Exported for the test that holds both trees' help to be the same.
 */
export async function programFor(argv: readonly string[]): Promise<Command> {
  if (argv[0] === "registry") {
    const [{ newProgram }, { registerRegistryCommands }] = await Promise.all([
      import("./program-root.js"),
      import("./commands/registry.js"),
    ]);
    const program = newProgram();
    registerRegistryCommands(program);
    return program;
  }
  return (await import("./program.js")).buildProgram(argv);
}
