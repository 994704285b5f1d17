#!/usr/bin/env node
/**
 * Entry of the resident runtime service, started by the `pier-runtime` front end on first use:
 * `main.js --socket PATH`. Exits when idle (PIER_RUNTIME_SERVICE_IDLE_MS, default 60 s) and, so
 * that a rebuilt or upgraded pier never keeps serving old code, once its own files changed and
 * no command is running.
 */
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ensureHelper } from "../helper.js";
import { RuntimeService } from "./server.js";

// pier-init too: the service holds a sealed copy of it that must not outlive a rebuild.
const files = [
  fileURLToPath(import.meta.url),
  fileURLToPath(new URL("../cli/cli.js", import.meta.url)),
  ensureHelper(),
];
const stamp = () => files.map((f) => statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 0).join();

async function main(): Promise<void> {
  const at = process.argv.indexOf("--socket");
  const socket = at > 0 ? process.argv[at + 1] : undefined;
  if (!socket) {
    process.stderr.write("usage: main.js --socket PATH (started by pier-runtime)\n");
    process.exitCode = 2;
    return;
  }
  const started = stamp();
  let service: RuntimeService | undefined;
  const stop = () => {
    void service?.close().then(() => process.exit(0));
  };
  service = await RuntimeService.listen({
    socket,
    idleMs: Number(process.env.PIER_RUNTIME_SERVICE_IDLE_MS ?? 60_000),
    onIdle: stop,
    isStale: () => stamp() !== started,
    onStale: stop,
  });
  if (!service) return;
  const check = setInterval(() => {
    if (stamp() !== started) {
      // Refuse new callers at once (they start a fresh service), finish the running ones.
      clearInterval(check);
      stop();
    }
  }, 1000);
  check.unref();
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

void main();
