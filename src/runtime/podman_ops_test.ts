/**
 * podman (Debian 4.3) with pier-runtime as `--runtime` and podman's default seccomp profile:
 * `exec`, `pause`/`unpause` (the container's counter stops, then goes on), `stats --no-stream`
 * and `update --memory` on one running container; `-v SRC:DST:idmap` (an idmapped mount).
 */
import assert from "node:assert/strict";
import { chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import {
  PODMAN_IMAGE,
  PODMAN_ULIMITS,
  type PodmanFixture,
  podmanWithPier,
} from "../testing/runtime-podman.js";

let tmp = "";
let fx: PodmanFixture | undefined;
const name = `pier-ops-${process.pid}`;
let pid = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const counter = () => Number(readFileSync(`/proc/${pid}/root/tmp/count`, "utf8").trim() || "0");

before(async () => {
  tmp = await makeTempDir("pier-podman-ops-");
  fx = await podmanWithPier(tmp);
  const run = fx.pm(
    "run",
    "-d",
    "--name",
    name,
    "--network",
    "none",
    ...PODMAN_ULIMITS,
    PODMAN_IMAGE,
    "sh",
    "-c",
    "i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; usleep 5000; done",
  );
  assert.equal(run.status, 0, run.stderr);
  pid = Number(fx.pm("inspect", "--format", "{{.State.Pid}}", name).stdout.trim());
  assert.ok(pid > 0);
  for (let i = 0; i < 200 && counter() === 0; i++) await sleep(10);
});

after(async () => {
  fx?.dispose();
  await removeTempDir(tmp);
});

const pm = (...args: string[]) => {
  if (!fx) throw new Error("podman fixture not set up");
  return fx.pm(...args);
};

test("podman exec runs in the container under podman's default seccomp profile", () => {
  const r = pm(
    "exec",
    name,
    "sh",
    "-c",
    "grep Seccomp: /proc/self/status; cat /proc/1/cmdline | tr '\\0' ' '",
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Seccomp:\s+2\nsh -c i=0;/);
});

test("podman pause freezes the container (its counter stops) and unpause thaws it", async () => {
  const p = pm("pause", name);
  assert.equal(p.status, 0, p.stderr);
  assert.equal(pm("inspect", "--format", "{{.State.Status}}", name).stdout.trim(), "paused");
  const frozen = counter();
  await sleep(300);
  assert.equal(counter(), frozen, "the counter advanced while paused");
  const u = pm("unpause", name);
  assert.equal(u.status, 0, u.stderr);
  assert.equal(pm("inspect", "--format", "{{.State.Status}}", name).stdout.trim(), "running");
  await sleep(300);
  assert.ok(counter() > frozen, "the counter goes on after unpause");
});

test("podman stats --no-stream reports memory, cpu time and pids of the container", () => {
  const r = pm("stats", "--no-stream", "--format", "json", name);
  assert.equal(r.status, 0, r.stderr);
  const [s] = JSON.parse(r.stdout) as { name: string; mem_usage: string; pids: string; cpu_time: string }[];
  assert.equal(s?.name, name);
  assert.match(s?.mem_usage ?? "", /^[1-9][\d.]*[kMG]?B \//);
  assert.ok(Number(s?.pids) >= 1, r.stdout);
  assert.match(s?.cpu_time ?? "", /[1-9]/);
});

test("podman update --memory changes the running container's memory limit", () => {
  const r = pm("update", "--memory", "64m", name);
  assert.equal(r.status, 0, r.stderr);
  // podman's runtime call is `update --resources FILE`; the limit shows in the container's cgroup.
  const limit = pm(
    "exec",
    name,
    "sh",
    "-c",
    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
  );
  assert.equal(limit.status, 0, limit.stderr);
  assert.equal(limit.stdout.trim(), String(64 * 1024 * 1024));
});

test("the container still answers after pause, update and stats", () => {
  const r = pm("exec", name, "true");
  assert.equal(r.status, 0, r.stderr);
  const cg = readFileSync(`/proc/${pid}/cgroup`, "utf8");
  assert.match(cg, /:\/.+/, "the container sits in a cgroup of its own");
});

test("podman -v SRC:DST:idmap with --uidmap: host-owned files keep their owners inside (idmapped mount)", () => {
  const vol = join(tmp, "vol");
  mkdirSync(vol, { recursive: true });
  writeFileSync(join(vol, "f"), "x");
  chownSync(join(vol, "f"), 1000, 1000);
  const run = (volume: string) =>
    pm(
      "run",
      "--rm",
      "--network",
      "none",
      ...PODMAN_ULIMITS,
      "--uidmap",
      "0:300000:65536",
      "--gidmap",
      "0:300000:65536",
      "-v",
      volume,
      PODMAN_IMAGE,
      "stat",
      "-c",
      "%u:%g",
      "/vol/f",
    );
  const idmapped = run(`${vol}:/vol:idmap`);
  assert.equal(idmapped.status, 0, idmapped.stderr);
  assert.equal(idmapped.stdout.trim(), "1000:1000");
  // Without the idmap, host uid 1000 is outside the container's mapping.
  const plain = run(`${vol}:/vol`);
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(plain.stdout.trim(), "65534:65534");
});
