import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { isPierError } from "../../../errors.js";
import { makeTempDir, removeTempDir } from "../../../testing/busybox.js";
import {
  disposeTree,
  readCounter,
  requireRoot,
  startGated,
  uniqueParent,
  v2Layout,
} from "../../../testing/runtime-cgroups.js";
import { openCgroup } from "../manager.js";
import { readControllers } from "./manager.js";

describe("v2 manager on this kernel's cgroup2 mount", async () => {
  const layout = await v2Layout();
  const skip = !layout && "no cgroup2 mount on this host";
  const parent = uniqueParent("v2m");
  const tmp = await makeTempDir("pier-cg-v2-");
  after(async () => {
    if (layout) await disposeTree(parent, { layout });
    await removeTempDir(tmp);
  });

  it("creates, tracks, freezes and thaws a counting loop, reports stats, destroys", { skip }, async () => {
    requireRoot();
    const cg = await openCgroup({ containerId: "v2", cgroupsPath: `${parent}/life`, layout: layout! });
    assert.equal(cg.version, 2);
    await cg.create();
    const dir = cg.paths.unified!;
    assert.ok(existsSync(join(dir, "cgroup.procs")));
    // Every controller the mount offers is delegated down to the container's cgroup.
    assert.deepEqual(await readControllers(dir), await readControllers(layout!.unified!.mountPoint));

    const p = startGated("i=0; while :; do i=$((i+1)); echo $i > f.tmp; mv f.tmp f; done", tmp);
    await cg.addProcess(p.pid);
    p.release();
    // The loop forks `mv`, so the shell may have company.
    assert.ok((await cg.processes()).includes(p.pid));
    const file = join(tmp, "f");
    await readCounter(file);
    await cg.freeze();
    assert.equal(await cg.state(), "frozen");
    assert.match(await readFile(join(dir, "cgroup.events"), "utf8"), /^frozen 1$/m);
    const a = await readCounter(file);
    await sleep(300);
    assert.equal(await readCounter(file), a, "no progress while frozen");
    await cg.thaw();
    assert.equal(await cg.state(), "thawed");
    await sleep(200);
    assert.ok((await readCounter(file)) > a, "progress after thaw");

    const stats = await cg.stats();
    assert.ok((stats.cpu.usage.total ?? 0) > 0, "cpu.stat usage_usec");
    assert.ok(stats.cpu.usage.user + stats.cpu.usage.kernel > 0);
    assert.ok((stats.pids.current ?? 0) >= 1);
    assert.equal(await cg.oomKillCount(), 0);
    if (existsSync(join(dir, "cpu.pressure"))) assert.equal(typeof stats.cpu.psi?.some.avg10, "number");

    await assert.rejects(cg.destroy(), (e: unknown) => isPierError(e, "BUSY"));
    await cg.kill();
    await p.exited;
    for (let i = 0; i < 250 && (await cg.processes()).length > 0; i++) await sleep(20);
    await cg.destroy();
    assert.ok(!existsSync(dir));
  });

  it("writes unified keys, refuses what the cgroup lacks, notes unenforced devices", { skip }, async () => {
    requireRoot();
    const cg = await openCgroup({ containerId: "v2", cgroupsPath: `${parent}/apply`, layout: layout! });
    await cg.create();
    const dir = cg.paths.unified!;
    await cg.apply({
      unified: { "cgroup.max.descendants": "7" },
      devices: [{ allow: false, access: "rwm" }],
    });
    assert.equal((await readFile(join(dir, "cgroup.max.descendants"), "utf8")).trim(), "7");
    assert.match(cg.notes.join("\n"), /devices is not enforced on cgroup v2/);
    await assert.rejects(cg.apply({ network: { classID: 1 } }), (e: unknown) =>
      isPierError(e, "UNSUPPORTED"),
    );
    await assert.rejects(cg.apply({ unified: { "cgroup.nope": "1" } }), /no such file/);
    const enabled = await readControllers(dir);
    if (!enabled.includes("memory")) {
      await assert.rejects(
        cg.apply({ memory: { limit: 1 << 20 } }),
        (e: unknown) => isPierError(e, "UNSUPPORTED") && /memory controller is not enabled/.test(String(e)),
      );
    } else {
      await cg.apply({ memory: { limit: 64 << 20, swap: 64 << 20 } });
      assert.equal((await readFile(join(dir, "memory.max"), "utf8")).trim(), String(64 << 20));
    }
    if (enabled.includes("hugetlb") && existsSync(join(dir, "hugetlb.2MB.max"))) {
      await cg.apply({ hugepageLimits: [{ pageSize: "2MB", limit: 4 << 20 }] });
      assert.equal((await readFile(join(dir, "hugetlb.2MB.max"), "utf8")).trim(), String(4 << 20));
      assert.ok("2MB" in (await cg.stats()).hugetlb);
    }
    await cg.destroy();
  });
});
