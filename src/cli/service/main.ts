#!/usr/bin/env node
/**
 * Entry of the resident `pier` CLI service, started by the native front end `native/build/pier`
 * on first use: `main.js --socket PATH`. It runs the commands that only talk to pierd (`run`,
 * `ps`, `logs`, `rm`, …) with the caller's arguments, environment and working directory, and
 * hands every other command back to the front end, which runs the plain Node.js CLI for it. Exits
 * when idle (PIER_CLI_SERVICE_IDLE_MS, default 60 s) and once its own files changed.
 */
import { fileURLToPath } from "node:url";
import { runResidentService } from "../../common/service/resident.js";
import { type CommandIo, NeedsOwnProcess, withCommandIo } from "../io.js";
import { runPierCli } from "../run.js";

await runResidentService({
  frontEnd: "pier",
  files: [
    fileURLToPath(import.meta.url),
    fileURLToPath(new URL("../run.js", import.meta.url)),
    fileURLToPath(new URL("../program.js", import.meta.url)),
  ],
  idleMs: Number(process.env.PIER_CLI_SERVICE_IDLE_MS ?? 60_000),
  run: async (argv, io) => {
    try {
      const commandIo: CommandIo = {
        stdout: io.stdout,
        stderr: io.stderr,
        // A copy: a command may set PIER_DEBUG for itself.
        env: { ...io.env },
        cwd: io.cwd,
        signal: io.signal,
        // Signals arrive from the caller's connection, outside the command's async context:
        // listeners run inside it, so what they do uses the caller's environment.
        onSignal: (listener) =>
          io.onSignal?.((sig) => void withCommandIo(commandIo, async () => listener(sig))) ?? (() => {}),
        ownProcess: false,
      };
      return await runPierCli(argv, commandIo);
    } catch (err) {
      if (err instanceof NeedsOwnProcess) return "direct";
      throw err;
    }
  },
});
