import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isPierError } from "../../../errors.js";
import {
  disposeTree,
  hostHasV1,
  killAll,
  requireRoot,
  startGated,
  uniqueParent,
} from "../../../testing/runtime-cgroups.js";
import { openCgroup } from "../manager.js";
import { readLayout, readOwnCgroups } from "../mountinfo.js";

const read = async (dir: string, file: string) => (await readFile(join(dir, file), "utf8")).trim();

describe("v1 manager on this kernel", async () => {
  const v1 = await hostHasV1();
  const skip = !v1 && "no cgroup v1 on this host";
  const parent = uniqueParent("v1m");
  const relTop = `${parent.slice(1)}-rel`;
  after(async () => {
    await disposeTree(parent);
    await disposeTree(relTop);
  });

  it("creates in every hierarchy, applies, tracks a process, reports stats, destroys everything", {
    skip,
  }, async () => {
    requireRoot();
    const layout = await readLayout();
    const cg = await openCgroup({ containerId: "life", cgroupsPath: `${parent}/life` });
    assert.equal(cg.version, 1);
    for (const name of Object.keys(layout.v1)) assert.ok(cg.paths[name], `a directory for ${name}`);
    if (layout.mode === "hybrid") assert.ok(cg.paths.unified);
    await cg.create();
    await cg.create(); // idempotent
    assert.ok(await cg.exists());
    for (const dir of Object.values(cg.paths)) assert.ok(existsSync(join(dir, "cgroup.procs")), dir);

    // v1 cpuset starts empty; create copies the parent's sets down so a task can join.
    const rootCpus = await read(layout.v1.cpuset!.mountPoint, "cpuset.cpus");
    assert.equal(await read(cg.paths.cpuset!, "cpuset.cpus"), rootCpus);
    assert.notEqual(await read(cg.paths.cpuset!, "cpuset.mems"), "");

    await cg.apply({
      memory: { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20, swappiness: 10 },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0" },
      pids: { limit: 50 },
      blockIO: { throttleReadBpsDevice: [{ major: 7, minor: 0, rate: 1048576 }] },
    });
    assert.equal(await read(cg.paths.memory!, "memory.limit_in_bytes"), String(64 << 20));
    assert.equal(await read(cg.paths.memory!, "memory.soft_limit_in_bytes"), String(32 << 20));
    assert.equal(await read(cg.paths.memory!, "memory.memsw.limit_in_bytes"), String(128 << 20));
    assert.equal(await read(cg.paths.memory!, "memory.swappiness"), "10");
    assert.equal(await read(cg.paths.cpu!, "cpu.cfs_quota_us"), "50000");
    assert.equal(await read(cg.paths.cpuset!, "cpuset.cpus"), "0");
    assert.equal(await read(cg.paths.pids!, "pids.max"), "50");
    assert.equal(await read(cg.paths.blkio!, "blkio.throttle.read_bps_device"), "7:0 1048576");

    const p = startGated("exec sleep 30");
    await cg.addProcess(p.pid);
    assert.deepEqual(await cg.processes(), [p.pid]);
    for (const dir of Object.values(cg.paths)) {
      assert.match(await read(dir, "cgroup.procs"), new RegExp(`^${p.pid}$`, "m"), dir);
    }
    const stats = await cg.stats();
    assert.equal(stats.memory.usage.limit, 64 << 20);
    assert.equal(stats.pids.current, 1);
    assert.equal(stats.pids.limit, 50);
    assert.deepEqual(stats.cpuset.cpus, [0]);
    assert.ok(stats.cpu.usage.total !== undefined);
    assert.ok(stats.memory.raw && "total_rss" in stats.memory.raw);
    if (cg.paths.unified && existsSync(join(cg.paths.unified, "memory.pressure"))) {
      assert.equal(typeof stats.memory.psi?.some.total, "number", "pressure from the unified tree");
    }
    // The JSON has runc's field names.
    const json = JSON.parse(JSON.stringify(stats));
    assert.ok(
      "throttledPeriods" in json.cpu.throttling &&
        "percpu" in json.cpu.usage &&
        "failcnt" in json.memory.usage,
    );

    await assert.rejects(cg.destroy(), (e: unknown) => isPierError(e, "BUSY"));
    await killAll(cg);
    await p.exited;
    await cg.destroy();
    for (const dir of Object.values(cg.paths)) assert.ok(!existsSync(dir), `${dir} removed`);
    assert.equal(await cg.exists(), false);
    await cg.destroy(); // absent is success
  });

  it("kills every process, forks included, with SIGKILL and with other signals", { skip }, async () => {
    requireRoot();
    const cg = await openCgroup({ containerId: "k", cgroupsPath: `${parent}/kill` });
    await cg.create();
    await cg.apply({ pids: { limit: 64 } });
    const waitEmpty = async () => {
      for (let i = 0; i < 250 && (await cg.processes()).length > 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      return cg.processes();
    };
    // A loop that keeps forking: a naive list-then-kill would miss the newest children.
    const p = startGated("while :; do sleep 5 & done");
    await cg.addProcess(p.pid);
    p.release();
    await new Promise((r) => setTimeout(r, 100));
    assert.ok((await cg.processes()).length > 1);
    await cg.kill();
    assert.deepEqual(await waitEmpty(), []);
    await p.exited;

    const q = startGated("sleep 30 & sleep 30 & wait");
    await cg.addProcess(q.pid);
    q.release();
    await new Promise((r) => setTimeout(r, 100));
    await cg.kill("SIGTERM");
    assert.deepEqual(await waitEmpty(), []);
    assert.equal(await cg.state(), "thawed");
    await q.exited;
  });

  it("refuses unified on v1 and controllers this host does not mount", { skip }, async () => {
    requireRoot();
    const layout = await readLayout();
    const cg = await openCgroup({ containerId: "x", cgroupsPath: `${parent}/refuse` });
    await cg.create();
    await assert.rejects(cg.apply({ unified: { "memory.high": "1" } }), (e: unknown) =>
      isPierError(e, "UNSUPPORTED"),
    );
    if (!layout.v1.hugetlb) {
      await assert.rejects(
        cg.apply({ hugepageLimits: [{ pageSize: "2MB", limit: 0 }] }),
        (e: unknown) =>
          isPierError(e, "UNSUPPORTED") &&
          /hugepageLimits: the hugetlb cgroup controller is not mounted/.test(String(e)),
      );
    }
    if (!layout.v1.net_cls) {
      await assert.rejects(cg.apply({ network: { classID: 1 } }), /network\.classID/);
    }
    await cg.destroy();
  });

  it("puts a relative cgroupsPath under the runtime's own cgroup", { skip }, async () => {
    requireRoot();
    const own = await readOwnCgroups();
    const rel = `${relTop}/c`;
    const cg = await openCgroup({ containerId: "r", cgroupsPath: rel });
    const layout = await readLayout();
    assert.equal(cg.paths.memory, join(layout.v1.memory!.mountPoint, own.memory ?? "/", rel));
    await cg.create();
    assert.ok(existsSync(cg.paths.memory!));
    await cg.destroy();
    const top = await openCgroup({ containerId: "r", cgroupsPath: relTop });
    await top.destroy();
    assert.ok(!existsSync(top.paths.memory!));
  });

  it("falls back from the systemd driver to cgroupfs, saying so", async () => {
    const cg = await openCgroup({ containerId: "s", cgroupsPath: "machine.slice:pier:s1", systemd: true });
    assert.equal(cg.path, "/machine.slice/pier-s1.scope");
    assert.equal(cg.notes.length, 1);
  });
});
