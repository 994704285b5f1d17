/**
 * The test daemon fixture leaves nothing on the host: the containers a test left are killed when
 * it stops (they outlive pierd by design), and their cgroups and published ports' NAT rules,
 * which only the runtime's delete and the network teardown would have removed, go with them.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { busyboxRegistry, docker, requireDocker, startTestDaemon } from "./engine.js";

/** The directories of cgroup `/<id>` in every hierarchy mounted under /sys/fs/cgroup. */
function cgroupDirs(id: string): string[] {
  const roots = ["/sys/fs/cgroup", ...readdirSync("/sys/fs/cgroup").map((h) => join("/sys/fs/cgroup", h))];
  return roots.map((r) => join(r, id)).filter((d) => existsSync(join(d, "cgroup.procs")));
}

/** The nat table's rules that mention `text`. */
function natRules(text: string): string[] {
  const r = spawnSync("iptables-save", ["-t", "nat"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l.includes(text));
}

test("a test daemon's stop() removes the cgroups and port rules of the containers it left", async () => {
  requireDocker();
  const reg = await busyboxRegistry();
  const d = await startTestDaemon();
  let running = "";
  let exited = "";
  try {
    const r = await docker(d, ["run", "-d", "-p", "127.0.0.1::8080", reg.image, "sleep", "60"]);
    assert.equal(r.status, 0, r.stderr);
    running = r.stdout.trim();
    const ex = await docker(d, ["exec", "-d", running, "sleep", "60"]);
    assert.equal(ex.status, 0, ex.stderr);
    const e = await docker(d, ["run", "-d", reg.image, "true"]);
    assert.equal(e.status, 0, e.stderr);
    exited = e.stdout.trim();
    assert.equal((await docker(d, ["wait", exited])).stdout.trim(), "0");
    assert.ok(cgroupDirs(running).length > 0, "the running container has cgroups");
    assert.ok(natRules(running).length > 0, "the published port has its NAT rule");
  } finally {
    await d.stop();
    await reg.stop();
  }
  assert.deepEqual(cgroupDirs(running), [], "no cgroup of the running container is left");
  assert.deepEqual(natRules(running), [], "no NAT rule of its published port is left");
  if (exited) assert.deepEqual(cgroupDirs(exited), [], "no cgroup of the exited container is left");
});
