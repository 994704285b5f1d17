#!/usr/bin/env node
/**
 * `pierd`, the engine daemon: see `command.ts`. This entry only sets V8 up for a long-lived
 * process before anything is loaded, then loads and starts the daemon:
 * - the young generation stays at V8's starting size (loading pierd's modules alone grew it to
 *   16 MiB, kept for the daemon's whole life; see `common/lean-heap.ts`);
 * - no optimizing compiler (TurboFan) until pierd listens: loading ~310 modules and restoring
 *   makes a few hundred functions briefly hot, and optimizing them cost the idle daemon ~6 MB
 *   for good (the compiler's own pages of the node binary, its zone memory left fragmented in
 *   malloc, the optimized code). Once pierd serves, what is hot for its work is optimized as before.
 */
import { setFlagsFromString } from "node:v8";
import { keepYoungGenerationSmall } from "../../common/lean-heap.js";

keepYoungGenerationSmall();
setFlagsFromString("--no-opt");
try {
  // Resolves once the daemon listens (command.ts awaits startDaemon at its top level).
  await import("./command.js");
} finally {
  setFlagsFromString("--opt");
}
