import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { makeTempDir, removeTempDir } from "../../../testing/busybox.js";
import {
  disposeTree,
  hostHasV1,
  killAll,
  readCounter,
  requireRoot,
  startGated,
  uniqueParent,
} from "../../../testing/runtime-cgroups.js";
import { openCgroup } from "../manager.js";

describe("v1 freezer on this kernel", async () => {
  const v1 = await hostHasV1();
  const parent = uniqueParent("frz");
  const tmp = await makeTempDir("pier-cg-freeze-");
  after(async () => {
    await disposeTree(parent);
    await removeTempDir(tmp);
  });

  it("stops a counting loop while frozen and lets it continue once thawed", {
    skip: !v1 && "no cgroup v1 on this host",
  }, async () => {
    requireRoot();
    const cg = await openCgroup({ containerId: "f", cgroupsPath: `${parent}/count` });
    await cg.create();
    const p = startGated("i=0; while :; do i=$((i+1)); echo $i > f.tmp; mv f.tmp f; done", tmp);
    await cg.addProcess(p.pid);
    p.release();
    const file = join(tmp, "f");
    await readCounter(file);
    assert.equal(await cg.state(), "thawed");
    await cg.freeze();
    assert.equal(await cg.state(), "frozen");
    const a = await readCounter(file);
    await sleep(300);
    const b = await readCounter(file);
    assert.equal(b, a, "no progress while frozen");
    await cg.thaw();
    assert.equal(await cg.state(), "thawed");
    await sleep(300);
    assert.ok((await readCounter(file)) > b, "progress after thaw");
    await killAll(cg);
  });
});
