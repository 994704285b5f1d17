/**
 * The `pier` command tree. Parses, calls a library layer, renders. Commands load their modules
 * lazily so that `pier --help` and small commands start fast.
 */
import type { Command } from "commander";
import { registerBuildCommand } from "./commands/build.js";
import { registerEngineCommands } from "./commands/engine.js";
import { registerCheckpointCommands } from "./commands/engine-checkpoint.js";
import { registerEngineOpsCommands } from "./commands/engine-ops.js";
import { registerPruneCommands } from "./commands/engine-prune.js";
import { registerEngineVerbCommands } from "./commands/engine-verbs.js";
import { registerImageCommands } from "./commands/image.js";
import { registerRegistryCommands } from "./commands/registry.js";
import { registerRemoteCommands } from "./commands/remote.js";
import { registerTrustCommands } from "./commands/trust.js";
import { newProgram } from "./program-root.js";

/** The registrations of the command tree, in their order (a later one may extend an earlier one's group). */
const REGISTRATIONS: readonly ((program: Command) => void)[] = [
  registerImageCommands,
  registerBuildCommand,
  registerRegistryCommands,
  registerRemoteCommands,
  registerTrustCommands,
  registerEngineCommands,
  registerEngineOpsCommands,
  registerPruneCommands,
  registerEngineVerbCommands,
  registerCheckpointCommands,
];

/**
 * For each top-level command name (and alias), the registrations that make or extend it, learnt
 * from this process's first whole tree. The resident CLI service then builds only those for each
 * command: building the whole tree (some 300 options) was two thirds of its CPU time per
 * `pier run`.
 */
let registrationsOf: Map<string, number[]> | undefined;

/**
 * Builds the command tree; with `argv` (what will be parsed), once this process has built the
 * whole tree, only the part that `argv`'s command needs (the same commands, options and help).
 * Exported for tests that check `--help` of every command.
 */
export function buildProgram(argv?: readonly string[]): Command {
  const program = newProgram();
  // A leading option (`--root DIR run …`), help, an unknown name: the whole tree, as always.
  const name = argv?.[0];
  const only = name !== undefined && !name.startsWith("-") ? registrationsOf?.get(name) : undefined;
  if (only) {
    for (const i of only) REGISTRATIONS[i]!(program);
    return program;
  }
  const learnt = new Map<string, number[]>();
  REGISTRATIONS.forEach((register, i) => {
    const before = new Map(program.commands.map((c) => [c, c.commands.length]));
    register(program);
    for (const c of program.commands) {
      if (before.get(c) === c.commands.length) continue; // neither made nor extended here
      for (const n of [c.name(), ...c.aliases()]) learnt.set(n, [...(learnt.get(n) ?? []), i]);
    }
  });
  registrationsOf ??= learnt;
  return program;
}
