import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  disposeTree,
  hostHasV1,
  requireRoot,
  startGated,
  uniqueParent,
} from "../../../testing/runtime-cgroups.js";
import { openCgroup } from "../manager.js";
import { planV1Cpu } from "./cpu.js";

describe("planV1Cpu", () => {
  it("maps every field to its v1 file, period before quota", () => {
    assert.deepEqual(
      planV1Cpu({
        shares: 512,
        quota: 20000,
        period: 100000,
        burst: 1000,
        realtimePeriod: 1000000,
        realtimeRuntime: 950000,
        idle: 0,
      }),
      [
        { file: "cpu.shares", value: "512" },
        { file: "cpu.cfs_period_us", value: "100000" },
        { file: "cpu.cfs_quota_us", value: "20000" },
        { file: "cpu.cfs_burst_us", value: "1000" },
        { file: "cpu.rt_period_us", value: "1000000" },
        { file: "cpu.rt_runtime_us", value: "950000" },
        { file: "cpu.idle", value: "0" },
      ],
    );
  });
  it("writes -1 quota (unlimited) and skips zero values", () => {
    assert.deepEqual(planV1Cpu({ quota: -1, shares: 0 }), [{ file: "cpu.cfs_quota_us", value: "-1" }]);
  });
});

describe("v1 cpu on this kernel", async () => {
  const v1 = await hostHasV1();
  const parent = uniqueParent("cpu");
  after(() => disposeTree(parent));

  it("throttles a busy loop to its quota and reports usage", {
    skip: !v1 && "no cgroup v1 on this host",
  }, async () => {
    requireRoot();
    const cg = await openCgroup({ containerId: "c", cgroupsPath: `${parent}/busy` });
    await cg.create();
    await cg.apply({ cpu: { shares: 256, quota: 10000, period: 100000 } });
    const dir = cg.paths.cpu!;
    assert.equal((await readFile(join(dir, "cpu.cfs_quota_us"), "utf8")).trim(), "10000");
    assert.equal((await readFile(join(dir, "cpu.shares"), "utf8")).trim(), "256");
    const p = startGated("while :; do :; done");
    await cg.addProcess(p.pid);
    p.release();
    await sleep(600);
    const stats = await cg.stats();
    p.child.kill("SIGKILL");
    await p.exited;
    assert.ok((stats.cpu.throttling.throttledPeriods ?? 0) > 0, "nr_throttled must grow");
    assert.ok((stats.cpu.throttling.throttledTime ?? 0) > 0);
    const total = stats.cpu.usage.total ?? 0;
    assert.ok(total > 0, "cpuacct.usage counts the loop");
    // 10% of one CPU over ~0.6 s is ~60 ms; a generous bound still proves the cap.
    assert.ok(total < 250_000_000, `usage ${total} ns must stay near the 10% quota`);
  });

  it("refuses shares the kernel would clamp", { skip: !v1 && "no cgroup v1 on this host" }, async () => {
    requireRoot();
    const cg = await openCgroup({ containerId: "c", cgroupsPath: `${parent}/clamp` });
    await cg.create();
    await assert.rejects(cg.apply({ cpu: { shares: 1 } }), /kernel set 2 instead of 1/);
  });
});
