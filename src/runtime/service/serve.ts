/**
 * The runtime service's life once its modules are loaded, shared by its two entry points: the ES
 * module one (`main.ts`) and the startup snapshot's (`snapshot-main.ts`, see
 * `scripts/build-service-snapshot.mjs`).
 */
import { fileURLToPath } from "node:url";
import { runResidentService } from "../../common/service/resident.js";
import { runCli } from "../cli/cli.js";
import { ensureHelper, sealedHelperCopy } from "../helper.js";

/**
 * Serves the `pier-runtime` front end on this process's `--socket PATH` until idle
 * (PIER_RUNTIME_SERVICE_IDLE_MS, default 60 s) or until one of its files, or of `moreFiles` (the
 * entry point's own), changed (see `src/common/service/resident.ts`).
 */
export async function serveRuntime(moreFiles: readonly string[]): Promise<void> {
  await runResidentService({
    frontEnd: "pier-runtime",
    // pier-init too: the service holds a sealed copy of it that must not outlive a rebuild.
    files: [
      ...moreFiles,
      fileURLToPath(import.meta.url),
      fileURLToPath(new URL("../cli/cli.js", import.meta.url)),
      ensureHelper(),
    ],
    idleMs: Number(process.env.PIER_RUNTIME_SERVICE_IDLE_MS ?? 60_000),
    // pier-init is the caller's process: the front end becomes it (the sealed copy when there is
    // one), and early: its pier-init relays this command's output while it waits for the plan.
    run: (argv, io) =>
      runCli(argv, {
        ...io,
        launch: async () => io.execInCaller(await sealedHelperCopy()),
        launchEarly: true,
      }),
  });
  // Made now, beside the first command's work, rather than on the way of its first container.
  void sealedHelperCopy();
}
