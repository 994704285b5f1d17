#!/usr/bin/env node
/**
 * Entry of the resident runtime service, started by the `pier-runtime` front end on first use:
 * `main.js --socket PATH`. Exits when idle (PIER_RUNTIME_SERVICE_IDLE_MS, default 60 s) and once
 * its own files changed (see `src/common/service/resident.ts`).
 */
import { fileURLToPath } from "node:url";
import { keepYoungGenerationSmall } from "../../common/lean-heap.js";

// Resident between commands: the young generation stays at V8's starting size, set before the
// modules load (loading grows it otherwise, for the service's whole life; see lean-heap.ts).
keepYoungGenerationSmall();
const { runResidentService } = await import("../../common/service/resident.js");
const { runCli } = await import("../cli/cli.js");
const { ensureHelper, sealedHelperCopy } = await import("../helper.js");

await runResidentService({
  frontEnd: "pier-runtime",
  // pier-init too: the service holds a sealed copy of it that must not outlive a rebuild.
  files: [
    fileURLToPath(import.meta.url),
    fileURLToPath(new URL("../cli/cli.js", import.meta.url)),
    ensureHelper(),
  ],
  idleMs: Number(process.env.PIER_RUNTIME_SERVICE_IDLE_MS ?? 60_000),
  // pier-init is the caller's process: the front end becomes it (the sealed copy when there is one).
  run: (argv, io) => runCli(argv, { ...io, launch: async () => io.execInCaller(await sealedHelperCopy()) }),
});
