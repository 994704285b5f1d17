#!/usr/bin/env node
/**
 * Entry of the resident `pier` CLI service, started by the native front end `native/build/pier`
 * on first use: `main.js --socket PATH`. It runs the commands that only talk to pierd (`run`,
 * `ps`, `logs`, `rm`, …) with the caller's arguments, environment and working directory, and
 * hands every other command back to the front end, which runs the plain Node.js CLI for it. Exits
 * when idle (PIER_CLI_SERVICE_IDLE_MS, default 60 s) and once its own files changed.
 */
import { fileURLToPath } from "node:url";
import { keepYoungGenerationSmall } from "../../common/lean-heap.js";
import type { CommandIo } from "../io.js";

// Resident between commands: the young generation stays at V8's starting size, set before the
// modules load (loading grows it otherwise, for the service's whole life; see lean-heap.ts).
keepYoungGenerationSmall();
const { runResidentService } = await import("../../common/service/resident.js");
const { NeedsOwnProcess, withCommandIo } = await import("../io.js");
const { runPierCli } = await import("../run.js");

await runResidentService({
  frontEnd: "pier",
  files: [
    fileURLToPath(import.meta.url),
    fileURLToPath(new URL("../run.js", import.meta.url)),
    fileURLToPath(new URL("../program.js", import.meta.url)),
    fileURLToPath(new URL("../program-root.js", import.meta.url)),
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
