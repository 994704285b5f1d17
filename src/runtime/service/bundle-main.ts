/**
 * Entry of the runtime service as one script: `scripts/bundle-service.mjs` bundles this file and
 * every runtime module it reaches into `bundle.cjs` at build time, and `service.cjs` (the
 * front end's way to start the service) compiles that script with V8's code cache of the last
 * service's run. A cold service then neither resolves, reads and compiles ~100 ES modules nor
 * compiles again the functions its commands ran before. The same service as `main.ts` otherwise;
 * the young generation is kept small by the command line (`YOUNG_GENERATION_CAP_FLAG`, see
 * `common/lean-heap.ts` and `service.cjs`), not here: a flag changed at run time would void the
 * code cache.
 */
import { fileURLToPath } from "node:url";
import { serveRuntime } from "./serve.js";

void serveRuntime([
  fileURLToPath(new URL("./bundle.cjs", import.meta.url)),
  fileURLToPath(new URL("./service.cjs", import.meta.url)),
]);
