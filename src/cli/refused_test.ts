/**
 * A registry that refuses connections: `pier pull`, `push` and `copy` (both directions) fail at
 * once with one line naming the refusal, as docker does, instead of retrying for seconds (they
 * took 9.6 s before). Real processes, a real closed port on loopback.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";

const PIER = join(dirname(fileURLToPath(import.meta.url)), "pier.js");

/** The retry policy's back-off alone took longer than this (9.6 s); one Node.js start takes far less. */
const AT_ONCE_MS = 5000;

function pier(
  root: string,
  ...args: string[]
): Promise<{ status: number | null; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PIER, "--root", root, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stderr, ms: performance.now() - t0 }));
  });
}

let tmp = "";
let root = "";
let refused = "";

before(async () => {
  tmp = await makeTempDir();
  root = join(tmp, "root");
  // A port that was just free: nothing listens there, so connecting is refused.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((r) => probe.close(() => r()));
  refused = `127.0.0.1:${port}`;
  await writeBusyboxRootfs(join(tmp, "rootfs"));
  const made = await pier(root, "image", "create", join(tmp, "rootfs"), "--tag", `${refused}/t/bb:1`);
  assert.equal(made.status, 0, made.stderr);
  const saved = await pier(root, "copy", `${refused}/t/bb:1`, `oci:${join(tmp, "layout")}:bb`);
  assert.equal(saved.status, 0, saved.stderr);
});

after(() => removeTempDir(tmp));

for (const [what, args] of [
  ["pull", () => ["pull", `${refused}/t/bb:1`]],
  ["push", () => ["push", `${refused}/t/bb:1`]],
  ["copy to the registry", () => ["copy", `oci:${join(tmp, "layout")}:bb`, `docker://${refused}/t/copied:1`]],
  ["copy from the registry", () => ["copy", `docker://${refused}/t/bb:1`, `oci:${join(tmp, "out")}:bb`]],
] as const) {
  test(`${what}: a registry that refuses connections fails at once, in one line`, async () => {
    const r = await pier(root, ...args());
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^pier: .*${refused.replace(/\./g, "\\.")}.*ECONNREFUSED`));
    assert.ok(r.ms < AT_ONCE_MS, `took ${Math.round(r.ms)} ms`);
  });
}
