/**
 * Helpers for the trust tests (not part of the library API): the pier CLI as a child process,
 * an image pushed to a test registry, external tools run with their output captured.
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PIER = join(dirname(fileURLToPath(import.meta.url)), "..", "cli", "pier.js");

/** What a child process did. */
export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin args…` (the registry under test serves from this process meanwhile). */
export function run(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** Runs the pier CLI with the store at `root`. */
export function pier(root: string, ...args: string[]): Promise<RunResult> {
  return run(process.execPath, [PIER, "--root", root, ...args]);
}

/** The `Digest: sha256:…` a pier transfer printed. */
export function printedDigest(r: RunResult): string {
  const d = /Digest: (sha256:[a-f0-9]{64})/.exec(r.stdout)?.[1];
  if (!d) throw new Error(`no digest in: ${r.stdout}${r.stderr}`);
  return d;
}
