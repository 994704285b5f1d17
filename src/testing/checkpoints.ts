/**
 * Test support for the engine's checkpoint tests (not library API): their preamble (the CRIU
 * check and a test pierd), the counting container's command, a check that its log counts 1, 2,
 * 3, … without a gap or a restart, polling with a deadline, and one request to pierd's own API
 * with a raw body.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { type DaemonFixture, useTestDaemon } from "./engine.js";
import { checkpointTestSkip } from "./runtime-criu.js";

/**
 * The preamble of an engine checkpoint test file that runs one test pierd: the CRIU check
 * ({@link checkpointTestSkip}, with `skipReason` in place of the plain CRIU check) and, unless
 * it skips, {@link useTestDaemon}'s hooks (`pull`: the busybox image pulled). `fx` holds the
 * registry and the daemon from the first test on; `skip` goes to the file's `describe`.
 */
export async function useCheckpointDaemon(
  file: string,
  opts: { pull?: boolean; skipReason?: () => Promise<string | undefined> } = {},
): Promise<{ skip: string | undefined; fx: DaemonFixture }> {
  const skip = await checkpointTestSkip(file, opts.skipReason);
  return { skip, fx: skip ? ({} as DaemonFixture) : useTestDaemon({ pull: opts.pull }) };
}

/** The counting container's command: one number every 50 ms. */
export const COUNTER = "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done";

/** How many numbers a counting container printed, checked to be 1, 2, 3, … with no gap or reset. */
export function counted(log: string): number {
  const nums = log
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map(Number);
  nums.forEach((n, i) => {
    assert.equal(n, i + 1, `count goes on without a gap or a restart: line ${i + 1} is ${n}`);
  });
  return nums.length;
}

/** Polls until `cond` holds; throws naming `what` after `ms` (default 30 s). */
export async function until(cond: () => Promise<boolean>, what: string, ms = 30000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One request to a pierd API socket with a raw body; resolves with the status and body. */
export function api(
  socketPath: string,
  method: string,
  path: string,
  body?: string | Buffer,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Checks the log of a container restored from a counter's checkpoint taken after `at` numbers:
 * it starts just after `at` (a number may have been printed between the dump and the log's
 * last read) and goes on one by one. Returns how many it printed (0 while none).
 */
export function countsOnFrom(log: string, at: number): number {
  const nums = log
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map(Number);
  if (nums.length === 0) return 0;
  const first = nums[0] ?? 0;
  assert.ok(first > at && first <= at + 3, `counts on from ${at}: ${nums.slice(0, 5).join(",")}`);
  nums.forEach((n, i) => {
    assert.equal(n, first + i, `counts one by one: line ${i + 1} is ${n}`);
  });
  return nums.length;
}
