#!/usr/bin/env node
/**
 * `pierd`, the engine daemon: see `command.ts`. This entry only keeps the young generation at
 * V8's starting size before anything is loaded (loading pierd's modules alone grew it to 16 MiB,
 * kept for the daemon's whole life; see `common/lean-heap.ts`), then loads the daemon.
 */
import { keepYoungGenerationSmall } from "../../common/lean-heap.js";

keepYoungGenerationSmall();
await import("./command.js");
