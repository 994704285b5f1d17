#!/usr/bin/env node
/** `pier`: the plain Node.js CLI (the native front end `native/build/pier` falls back to it). */
import { processIo } from "./io.js";
import { runPierCli } from "./run.js";

process.exitCode = await runPierCli(process.argv.slice(2), processIo());
