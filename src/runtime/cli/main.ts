#!/usr/bin/env node
/**
 * `pier-runtime` in a process of its own: the commands of `cli.ts` with this process's stdio,
 * working directory and environment. The native front end (`native/front-end.c`) runs the same
 * commands in the resident runtime service instead, and falls back to this file.
 */
import { runCli } from "./cli.js";

runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env,
}).then(
  (code) => {
    // "direct" (run in the caller's process) is only ever asked of the resident service
    process.exitCode = code === "direct" ? 1 : code;
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  },
);
