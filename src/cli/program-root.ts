/**
 * The root of the `pier` command tree: its global options, output and the rule that only
 * pierd's commands run in the CLI service. `program.ts` adds the commands.
 */
import { Command } from "commander";
import { PIER_VERSION } from "../common/version.js";
import { commandIo, requireOwnProcess } from "./io.js";

/**
 * The commands that only talk to pierd, which the CLI service runs for the native front end.
 * The others (local store, registry server, remote copies) work on the caller's files with the
 * caller's credentials and may run for long: they run in a process of their own.
 */
const DAEMON_COMMANDS = new Set([
  "run",
  "create",
  "update",
  "ps",
  "logs",
  "start",
  "stop",
  "restart",
  "kill",
  "wait",
  "rm",
  "inspect",
  "exec",
  "attach",
  "pause",
  "unpause",
  "stats",
  "events",
  "images",
  "rmi",
  "tag",
  "volume",
  "network",
  "system",
  "container",
  "builder",
  "top",
  "rename",
  "diff",
  "port",
  "commit",
  "history",
]);

/** A `pier` program without commands. */
export function newProgram(): Command {
  const program = new Command("pier")
    .description("pier: OCI images, registry, client, runtime and engine")
    .version(PIER_VERSION, "-v, --version")
    .option("--root <dir>", "state directory (default $PIER_ROOT or /var/lib/pier)")
    .option("--debug", "print stack traces on errors")
    .showHelpAfterError("(add --help for usage)")
    .configureHelp({ showGlobalOptions: true })
    // Options after a subcommand belong to it, so `pier run IMAGE sh -c …` passes `-c` through.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => commandIo().stdout(text),
      writeErr: (text) => commandIo().stderr(text),
    });
  program.hook("preAction", (cmd, action) => {
    const io = commandIo();
    if (cmd.optsWithGlobals().debug) io.env.PIER_DEBUG = "1";
    let top = action;
    while (top.parent && top.parent !== program) top = top.parent;
    if (!io.ownProcess && !DAEMON_COMMANDS.has(top.name())) requireOwnProcess(`pier ${top.name()}`);
  });
  return program;
}
