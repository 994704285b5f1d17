/**
 * The test daemon fixture leaves nothing on the host: the containers a test left are killed when
 * it stops (they outlive pierd by design), and their cgroups, which only the runtime's delete
 * would have removed, go with them.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { busyboxRegistry, docker, requireDocker, startTestDaemon } from "./engine.js";

/** The directories of cgroup `/<id>` in every hierarchy mounted under /sys/fs/cgroup. */
function cgroupDirs(id: string): string[] {
  const roots = ["/sys/fs/cgroup", ...readdirSync("/sys/fs/cgroup").map((h) => join("/sys/fs/cgroup", h))];
  return roots.map((r) => join(r, id)).filter((d) => existsSync(join(d, "cgroup.procs")));
}

test("a test daemon's stop() removes the cgroups of the containers it left, running or exited", async () => {
  requireDocker();
  const reg = await busyboxRegistry();
  const d = await startTestDaemon();
  let running = "";
  let exited = "";
  try {
    const r = await docker(d, ["run", "-d", reg.image, "sleep", "60"]);
    assert.equal(r.status, 0, r.stderr);
    running = r.stdout.trim();
    const ex = await docker(d, ["exec", "-d", running, "sleep", "60"]);
    assert.equal(ex.status, 0, ex.stderr);
    const e = await docker(d, ["run", "-d", reg.image, "true"]);
    assert.equal(e.status, 0, e.stderr);
    exited = e.stdout.trim();
    assert.equal((await docker(d, ["wait", exited])).stdout.trim(), "0");
    assert.ok(cgroupDirs(running).length > 0, "the running container has cgroups");
  } finally {
    await d.stop();
    await reg.stop();
  }
  assert.deepEqual(cgroupDirs(running), [], "no cgroup of the running container is left");
  if (exited) assert.deepEqual(cgroupDirs(exited), [], "no cgroup of the exited container is left");
});
