/** pierd killed with SIGKILL and started again finds its containers, their logs and exit codes. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type BusyboxRegistry, docker, pier, type TestDaemon, useTestDaemon } from "../../testing/engine.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
useTestDaemon({
  ready: (fx) => {
    ({ reg, d } = fx);
  },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("containers survive a pierd crash; exits during the outage keep their real code", async () => {
  const long = await docker(d, [
    "run",
    "-d",
    "--name",
    "long",
    reg.image,
    "sh",
    "-c",
    "while true; do echo beat; sleep 0.1; done",
  ]);
  assert.equal(long.status, 0, long.stderr);
  const short = await docker(d, ["run", "-d", "--name", "short", reg.image, "sh", "-c", "sleep 1; exit 42"]);
  assert.equal(short.status, 0, short.stderr);
  await d.crash();
  await sleep(1800);
  await d.restart();
  const ps = await docker(d, ["ps", "--format", "{{.Names}}"]);
  assert.equal(ps.stdout.trim(), "long");
  const code = await docker(d, ["inspect", "--format", "{{.State.ExitCode}} {{.State.Status}}", "short"]);
  assert.equal(code.stdout.trim(), "42 exited");
  const n1 = (await docker(d, ["logs", "long"])).stdout.split("\n").length;
  await sleep(500);
  const n2 = (await docker(d, ["logs", "long"])).stdout.split("\n").length;
  assert.ok(n2 > n1 && n1 > 10, `logs keep growing (${n1} then ${n2} lines)`);
  const stop = await docker(d, ["stop", "-t", "1", "long"]);
  assert.equal(stop.status, 0, stop.stderr);
  // sh as the namespace's init ignores SIGTERM, so the grace period ends in SIGKILL, as with Docker.
  const w = await docker(d, ["wait", "long"]);
  assert.equal(w.stdout.trim(), "137");
  await docker(d, ["rm", "long", "short"]);
});

test("pier run --rm prints the output and exits with the container's code", async () => {
  const r = await pier(d, ["run", "--rm", reg.image, "sh", "-c", "echo from-pier; echo err >&2; exit 5"]);
  assert.equal(r.status, 5, r.stderr);
  assert.equal(r.stdout, "from-pier\n");
  assert.match(r.stderr, /err/);
  const det = await pier(d, ["run", "-d", "--name", "bg", reg.image, "sleep", "30"]);
  assert.equal(det.status, 0, det.stderr);
  const ps = await pier(d, ["ps", "--format", "json"]);
  // docker's shape: one object per line, docker's keys.
  assert.deepEqual(
    ps.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { Names: string }).Names),
    ["bg"],
  );
  const rm = await pier(d, ["rm", "-f", "bg"]);
  assert.equal(rm.status, 0, rm.stderr);
  const none = await pier(d, ["ps", "-a", "-q"]);
  assert.equal(none.stdout, "");
  const missing = await pier(d, ["logs", "nosuch"]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /No such container/);
});
