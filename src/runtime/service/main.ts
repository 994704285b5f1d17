#!/usr/bin/env node
/**
 * Entry of the resident runtime service, started by the `pier-runtime` front end on first use:
 * `main.js --socket PATH` (see `serve.ts`; `snapshot-main.ts` is the same service from a startup
 * snapshot).
 */
import { fileURLToPath } from "node:url";
import { keepYoungGenerationSmall } from "../../common/lean-heap.js";

// Resident between commands: the young generation stays at V8's starting size, set before the
// modules load (loading grows it otherwise, for the service's whole life; see lean-heap.ts).
keepYoungGenerationSmall();
const { serveRuntime } = await import("./serve.js");
await serveRuntime([fileURLToPath(import.meta.url)]);
