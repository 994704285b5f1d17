/**
 * The stock docker CLI against pierd's Docker socket, with a busybox image built by pier and
 * served by pier's registry on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { request } from "node:http";
import { test } from "node:test";
import {
  type BusyboxRegistry,
  docker,
  dockerEnv,
  requireDocker,
  type TestDaemon,
  useTestDaemon,
} from "../../testing/engine.js";
import { socketRequest } from "../../testing/socket-request.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
useTestDaemon({
  ready: (fx) => {
    ({ reg, d } = fx);
  },
});

async function raw(
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; type: string; body: string }> {
  const r = await socketRequest(d.dockerSocket, method, path, body);
  return { status: r.status, type: String(r.headers["content-type"]), body: r.body };
}

test("sockets are root-only and /_ping advertises API 1.41", async () => {
  assert.equal(statSync(d.dockerSocket).mode & 0o777, 0o660);
  assert.equal(statSync(d.socket).mode & 0o777, 0o660);
  const res = await new Promise<import("node:http").IncomingMessage>((resolve, reject) =>
    request({ socketPath: d.dockerSocket, path: "/_ping" }, resolve).on("error", reject).end(),
  );
  res.resume();
  assert.equal(res.headers["api-version"], "1.41");
  assert.equal(res.headers.ostype, "linux");
  const v = await docker(d, ["version", "--format", "{{.Server.APIVersion}}"]);
  assert.equal(v.stdout.trim(), "1.41", v.stderr);
});

test("docker run --rm pulls, prints the output and exits with the container's code", async () => {
  const r = await docker(d, ["run", "--rm", reg.image, "echo", "hi"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "hi\n");
  assert.match(r.stderr, /Pull complete/);
  const e = await docker(d, ["run", "--rm", reg.image, "sh", "-c", "echo to-err >&2; exit 3"]);
  assert.equal(e.status, 3, e.stderr);
  assert.match(e.stderr, /to-err/);
  const ps = await docker(d, ["ps", "-aq"]);
  assert.equal(ps.stdout.trim(), "", "--rm containers are gone");
  const images = await docker(d, ["images"]);
  assert.match(images.stdout, /busybox/);
});

test("docker run -i feeds piped stdin to the container", async () => {
  const r = await docker(d, ["run", "--rm", "-i", reg.image, "sh", "-c", "tr a-z A-Z"], { input: "piped\n" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "PIPED\n");
});

test("run -d, ps, logs, inspect, stop with its grace period, rm", async () => {
  const r = await docker(d, [
    "run",
    "-d",
    "--name",
    "ticker",
    reg.image,
    "sh",
    "-c",
    "trap 'echo got-term; exit 0' TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const id = r.stdout.trim();
  assert.match(id, /^[a-f0-9]{64}$/);
  const ps = await docker(d, ["ps", "--format", "{{.Names}} {{.Status}}"]);
  assert.match(ps.stdout, /^ticker Up /m);
  const dup = await docker(d, ["run", "-d", "--name", "ticker", reg.image, "true"]);
  assert.notEqual(dup.status, 0);
  assert.match(dup.stderr, /already in use/);
  await new Promise((res) => setTimeout(res, 500));
  const logs = await docker(d, ["logs", "--tail", "2", "ticker"]);
  assert.equal(logs.stdout.trim().split("\n").length, 2);
  assert.match(logs.stdout, /^tick \d+$/m);
  const inspect = await docker(d, ["inspect", "--format", "{{.State.Status}} {{.State.Running}}", "ticker"]);
  assert.equal(inspect.stdout.trim(), "running true");
  const rmRunning = await docker(d, ["rm", "ticker"]);
  assert.notEqual(rmRunning.status, 0);
  assert.match(rmRunning.stderr, /cannot remove a running container/);
  const t0 = Date.now();
  const stop = await docker(d, ["stop", "ticker"]);
  assert.equal(stop.status, 0, stop.stderr);
  assert.ok(Date.now() - t0 < 5000, "a container that handles SIGTERM stops at once");
  const after = await docker(d, ["logs", "ticker"]);
  assert.match(after.stdout, /got-term\n$/);
  const code = await docker(d, ["inspect", "--format", "{{.State.ExitCode}}", "ticker"]);
  assert.equal(code.stdout.trim(), "0");
  const rm = await docker(d, ["rm", "ticker"]);
  assert.equal(rm.status, 0, rm.stderr);
});

test("stop sends SIGKILL after the grace period (-t)", async () => {
  const r = await docker(d, [
    "run",
    "-d",
    reg.image,
    "sh",
    "-c",
    "trap '' TERM; while true; do sleep 0.1; done",
  ]);
  const id = r.stdout.trim();
  const t0 = Date.now();
  const stop = await docker(d, ["stop", "-t", "1", id]);
  const took = Date.now() - t0;
  assert.equal(stop.status, 0, stop.stderr);
  assert.ok(took >= 900 && took < 6000, `stop took ${took} ms`);
  const w = await docker(d, ["wait", id]);
  assert.equal(w.stdout.trim(), "137");
  await docker(d, ["rm", "-f", id]);
});

test("logs -f follows until the container exits; kill; restart", async () => {
  const r = await docker(d, [
    "run",
    "-d",
    reg.image,
    "sh",
    "-c",
    "for i in 1 2 3; do echo line $i; sleep 0.2; done",
  ]);
  const id = r.stdout.trim();
  const f = await docker(d, ["logs", "-f", id]);
  assert.equal(f.stdout, "line 1\nline 2\nline 3\n");
  const restart = await docker(d, ["restart", id]);
  assert.equal(restart.status, 0, restart.stderr);
  await docker(d, ["wait", id]);
  const all = await docker(d, ["logs", id]);
  assert.equal(all.stdout.split("\n").filter(Boolean).length, 6, "logs keep growing across restarts");
  const s = await docker(d, ["run", "-d", reg.image, "sleep", "30"]);
  const kill = await docker(d, ["kill", s.stdout.trim()]);
  assert.equal(kill.status, 0, kill.stderr);
  const w = await docker(d, ["wait", s.stdout.trim()]);
  assert.equal(w.stdout.trim(), "137");
  await docker(d, ["rm", id, s.stdout.trim()]);
});

test("bad input: unknown image, malformed JSON, unknown container, missing bind source", async () => {
  const missing = await docker(d, ["run", "--rm", `${reg.image.replace("busybox", "nosuch")}`, "true"]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /not found|unknown|No such/i);
  const bad = await raw("POST", "/v1.41/containers/create", "{not json");
  assert.equal(bad.status, 400);
  assert.equal(bad.type, "application/json");
  assert.match(JSON.parse(bad.body).message, /invalid JSON/);
  const nf = await raw("GET", "/v1.41/containers/nosuch/json");
  assert.equal(nf.status, 404);
  assert.equal(nf.type, "application/json");
  const noImage = await raw("POST", "/v1.41/containers/create", JSON.stringify({ Image: "never-pulled:1" }));
  assert.equal(noImage.status, 404);
  assert.match(JSON.parse(noImage.body).message, /No such image/);
  // `-v` makes a missing host directory (as Docker); `--mount type=bind` refuses it.
  const binds = await docker(d, [
    "run",
    "--rm",
    "--mount",
    "type=bind,src=/nonexistent-path,dst=/x",
    reg.image,
    "true",
  ]);
  assert.notEqual(binds.status, 0);
  assert.match(binds.stderr, /invalid mount config: bind source path does not exist: \/nonexistent-path/);
  const ps = await docker(d, ["ps", "-aq"]);
  assert.equal(ps.stdout.trim(), "", "nothing half-created");
});

test("restart policy on-failure:N restarts a failing container N times", async () => {
  const r = await docker(d, [
    "run",
    "-d",
    "--restart",
    "on-failure:2",
    reg.image,
    "sh",
    "-c",
    "echo run; exit 1",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const id = r.stdout.trim();
  const state = async () =>
    (
      await docker(d, ["inspect", "--format", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}", id])
    ).stdout.trim();
  const until = Date.now() + 15000;
  while ((await state()) !== "2 exited 1" && Date.now() < until)
    await new Promise((res) => setTimeout(res, 100));
  assert.equal(await state(), "2 exited 1");
  await new Promise((res) => setTimeout(res, 600));
  assert.equal(await state(), "2 exited 1", "no third restart");
  assert.equal((await docker(d, ["logs", id])).stdout, "run\nrun\nrun\n");
  await docker(d, ["rm", id]);
});

test("docker exec runs in the container with the real exit code, with and without stdin", async () => {
  const r = await docker(d, ["run", "-d", reg.image, "sleep", "60"]);
  const id = r.stdout.trim();
  const e = await docker(d, ["exec", id, "sh", "-c", "echo in-$HOSTNAME; echo err >&2; exit 4"]);
  assert.equal(e.status, 4, e.stderr);
  assert.equal(e.stdout, `in-${id.slice(0, 12)}\n`);
  assert.equal(e.stderr, "err\n");
  const i = await docker(d, ["exec", "-i", id, "tr", "a-z", "A-Z"], { input: "shout\n" });
  assert.equal(i.status, 0, i.stderr);
  assert.equal(i.stdout, "SHOUT\n");
  const stopped = await docker(d, ["exec", "nosuch", "true"]);
  assert.notEqual(stopped.status, 0);
  await docker(d, ["rm", "-f", id]);
});

test("docker events streams create, start, die and destroy", async () => {
  const { spawn } = await import("node:child_process");
  const ev = spawn(requireDocker(), ["events", "--format", "{{.Action}} {{.Actor.Attributes.name}}"], {
    env: dockerEnv(d),
  });
  let out = "";
  ev.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  try {
    await new Promise((res) => setTimeout(res, 500));
    const r = await docker(d, ["run", "--rm", "--name", "evt", reg.image, "true"]);
    assert.equal(r.status, 0, r.stderr);
    const until = Date.now() + 5000;
    while (!out.includes("destroy evt") && Date.now() < until)
      await new Promise((res) => setTimeout(res, 50));
    assert.deepEqual(out.trim().split("\n"), ["create evt", "start evt", "die evt", "destroy evt"]);
  } finally {
    ev.kill();
  }
});
