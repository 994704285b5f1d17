import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  disposeTree,
  hostHasV1,
  killAll,
  requireRoot,
  startGated,
  uniqueParent,
} from "../../../testing/runtime-cgroups.js";
import { openCgroup } from "../manager.js";
import { pidsMaxValue } from "./pids.js";

describe("pidsMaxValue", () => {
  it("writes positive limits and max for -1 and 0", () => {
    assert.equal(pidsMaxValue(32771), "32771");
    assert.equal(pidsMaxValue(-1), "max");
    assert.equal(pidsMaxValue(0), "max");
  });
});

describe("v1 pids on this kernel", async () => {
  const v1 = await hostHasV1();
  const parent = uniqueParent("pids");
  after(() => disposeTree(parent));

  it("makes fork fail past the limit", { skip: !v1 && "no cgroup v1 on this host" }, async () => {
    requireRoot();
    const cg = await openCgroup({ containerId: "p", cgroupsPath: `${parent}/fork` });
    await cg.create();
    await cg.apply({ pids: { limit: 4 } });
    assert.equal((await readFile(join(cg.paths.pids!, "pids.max"), "utf8")).trim(), "4");
    const p = startGated("for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; wait");
    await cg.addProcess(p.pid);
    p.release();
    for (let i = 0; i < 250 && !/fork/i.test(p.stderr()); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(p.stderr(), /fork/i, "busybox reports the failed fork");
    const stats = await cg.stats();
    assert.ok(
      (stats.pids.current ?? 0) >= 3 && (stats.pids.current ?? 0) <= 4,
      `current ${stats.pids.current}`,
    );
    assert.equal(stats.pids.limit, 4);
    await killAll(cg);
    await p.exited;
    await cg.update({ pids: { limit: -1 } });
    assert.equal((await readFile(join(cg.paths.pids!, "pids.max"), "utf8")).trim(), "max");
  });
});
