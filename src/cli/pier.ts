#!/usr/bin/env node
/** `pier`: the user CLI entry point. */
import { runMain } from "./edge.js";
import { buildProgram } from "./program.js";

await runMain("pier", async () => {
  await buildProgram().parseAsync(process.argv);
});
