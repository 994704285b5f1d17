/**
 * Interop with runc: for the same `linux.resources`, the cgroup files pier writes must read back
 * exactly as those runc writes (runc creates a real container; pier a cgroup beside it).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { LinuxResources } from "../../oci/runtime-spec/resources.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../../testing/busybox.js";
import { disposeTree, hostHasV1, requireRoot, uniqueParent } from "../../testing/runtime-cgroups.js";
import { requireTool } from "../../testing/tools.js";
import { openCgroup } from "./manager.js";
import { readLayout } from "./mountinfo.js";

const RUNC = "/usr/sbin/runc";

const RESOURCES: LinuxResources = {
  memory: { limit: 96 << 20, reservation: 48 << 20, swap: 192 << 20, swappiness: 30 },
  cpu: { shares: 300, quota: 30000, period: 60000, cpus: "0" },
  pids: { limit: 42 },
  blockIO: { throttleReadBpsDevice: [{ major: 7, minor: 0, rate: 2097152 }] },
};

/** controller -> files compared. */
const FILES: Record<string, string[]> = {
  memory: [
    "memory.limit_in_bytes",
    "memory.soft_limit_in_bytes",
    "memory.memsw.limit_in_bytes",
    "memory.swappiness",
  ],
  cpu: ["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"],
  cpuset: ["cpuset.cpus", "cpuset.mems"],
  pids: ["pids.max"],
  blkio: ["blkio.throttle.read_bps_device"],
};

describe("cgroup files: pier vs runc", async () => {
  const v1 = await hostHasV1();
  const parent = uniqueParent("runc");
  const tmp = await makeTempDir("pier-cg-runc-");
  const id = `pier-cg-interop-${process.pid}`;
  after(async () => {
    try {
      execFileSync(RUNC, ["--root", join(tmp, "state"), "delete", "--force", id], { stdio: "ignore" });
    } catch {}
    await disposeTree(parent);
    await removeTempDir(tmp);
  });

  it("writes the same v1 values as runc for the same resources", {
    skip: !v1 && "no cgroup v1 on this host",
  }, async () => {
    requireRoot();
    requireTool(RUNC, "runc");
    const bundle = join(tmp, "bundle");
    await writeBusyboxRootfs(join(bundle, "rootfs"));
    execFileSync(RUNC, ["spec"], { cwd: bundle });
    const config = JSON.parse(await readFile(join(bundle, "config.json"), "utf8"));
    config.process.terminal = false;
    config.process.args = ["sleep", "60"];
    config.linux.cgroupsPath = `${parent}/runc`;
    config.linux.resources = { ...config.linux.resources, ...RESOURCES };
    await writeFile(join(bundle, "config.json"), JSON.stringify(config));
    execFileSync(RUNC, ["--root", join(tmp, "state"), "create", "--bundle", bundle, id], { stdio: "ignore" });

    const cg = await openCgroup({ containerId: "p", cgroupsPath: `${parent}/pier` });
    await cg.create();
    await cg.apply(RESOURCES);

    const layout = await readLayout();
    let compared = 0;
    for (const [controller, files] of Object.entries(FILES)) {
      const mount = layout.v1[controller]?.mountPoint;
      assert.ok(mount, `${controller} is mounted`);
      for (const file of files) {
        const runcFile = join(mount, parent, "runc", file);
        if (!existsSync(runcFile)) continue;
        const theirs = (await readFile(runcFile, "utf8")).trim();
        const ours = (await readFile(join(cg.paths[controller]!, file), "utf8")).trim();
        assert.equal(ours, theirs, `${controller}/${file}`);
        compared++;
      }
    }
    assert.ok(compared >= 10, `compared ${compared} files`);

    // pier's stats of runc's container cgroup read like `runc events --stats`.
    const runcStats = JSON.parse(
      execFileSync(RUNC, ["--root", join(tmp, "state"), "events", "--stats", id], { encoding: "utf8" }),
    ).data;
    const theirs = await openCgroup({ containerId: id, cgroupsPath: `${parent}/runc` });
    const ours = JSON.parse(JSON.stringify(await theirs.stats()));
    for (const key of ["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb"]) assert.ok(key in ours, key);
    for (const key of Object.keys(runcStats.memory.usage))
      assert.ok(key in ours.memory.usage, `memory.usage.${key}`);
    for (const key of Object.keys(runcStats.cpuset)) assert.ok(key in ours.cpuset, `cpuset.${key}`);
    assert.equal(ours.memory.usage.limit, runcStats.memory.usage.limit);
    assert.equal(ours.memory.swap.limit, runcStats.memory.swap.limit);
    assert.equal(ours.pids.limit, runcStats.pids.limit);
    // runc's init is a Go process whose thread count can change between the two reads.
    assert.ok(ours.pids.current >= 1 && runcStats.pids.current >= 1);
    assert.deepEqual(ours.cpuset.cpus, runcStats.cpuset.cpus);
    assert.equal(ours.cpuset.sched_load_balance, runcStats.cpuset.sched_load_balance);
    assert.ok(ours.cpu.usage.total >= runcStats.cpu.usage.total, "usage only grows");
  });
});
