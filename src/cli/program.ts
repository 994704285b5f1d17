/**
 * The `pier` command tree. Parses, calls a library layer, renders. Commands load their modules
 * lazily so that `pier --help` and small commands start fast.
 */
import { Command } from "commander";
import { registerEngineCommands } from "./commands/engine.js";
import { registerEngineOpsCommands } from "./commands/engine-ops.js";
import { registerImageCommands } from "./commands/image.js";
import { registerRegistryCommands } from "./commands/registry.js";
import { registerRemoteCommands } from "./commands/remote.js";
import { PIER_VERSION } from "./version.js";

/** Builds the command tree (exported for tests that check `--help` of every command). */
export function buildProgram(): Command {
  const program = new Command("pier")
    .description("pier: OCI images, registry, client, runtime and engine")
    .version(PIER_VERSION, "-v, --version")
    .option("--root <dir>", "state directory (default $PIER_ROOT or /var/lib/pier)")
    .option("--debug", "print stack traces on errors")
    .showHelpAfterError("(add --help for usage)")
    .configureHelp({ showGlobalOptions: true })
    // Options after a subcommand belong to it, so `pier run IMAGE sh -c …` passes `-c` through.
    .enablePositionalOptions()
    .exitOverride();
  program.hook("preAction", (cmd) => {
    if (cmd.optsWithGlobals().debug) process.env.PIER_DEBUG = "1";
  });
  registerImageCommands(program);
  registerRegistryCommands(program);
  registerRemoteCommands(program);
  registerEngineCommands(program);
  registerEngineOpsCommands(program);
  return program;
}
