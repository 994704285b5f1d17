#!/usr/bin/env node
/**
 * Entry of the resident runtime service, started by the `pier-runtime` front end on first use:
 * `main.js --socket PATH`. Exits when idle (PIER_RUNTIME_SERVICE_IDLE_MS, default 60 s) and once
 * its own files changed (see `resident.ts`).
 */
import { fileURLToPath } from "node:url";
import { ensureHelper } from "../helper.js";
import { runResidentService } from "./resident.js";

await runResidentService({
  frontEnd: "pier-runtime",
  // pier-init too: the service holds a sealed copy of it that must not outlive a rebuild.
  files: [
    fileURLToPath(import.meta.url),
    fileURLToPath(new URL("../cli/cli.js", import.meta.url)),
    ensureHelper(),
  ],
  idleMs: Number(process.env.PIER_RUNTIME_SERVICE_IDLE_MS ?? 60_000),
});
