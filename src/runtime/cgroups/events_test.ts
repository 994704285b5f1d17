import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  disposeTree,
  hostHasV1,
  requireRoot,
  startGated,
  uniqueParent,
} from "../../testing/runtime-cgroups.js";
import { containerEvents, watchOom, watchStats } from "./events.js";
import { openCgroup } from "./manager.js";

describe("event streams on this kernel", async () => {
  const v1 = await hostHasV1();
  const parent = uniqueParent("evt");
  after(() => disposeTree(parent));

  it("notices an OOM kill by polling", {
    skip: !v1 && "no memory controller on this host's test path",
  }, async () => {
    requireRoot();
    const cg = await openCgroup({ containerId: "e", cgroupsPath: `${parent}/oom` });
    await cg.create();
    await cg.apply({ memory: { limit: 16 << 20 } });
    const ac = new AbortController();
    const events = watchOom(cg, { intervalMs: 20, signal: ac.signal });
    const first = events.next();
    await new Promise((r) => setTimeout(r, 50)); // let the watcher take its baseline
    const p = startGated(`x=$(head -c ${48 << 20} /dev/zero | tr '\\0' a); test -n "$x"`);
    await cg.addProcess(p.pid);
    p.release();
    const timer = setTimeout(() => ac.abort(), 10_000);
    const got = await first;
    clearTimeout(timer);
    ac.abort();
    await p.exited;
    assert.equal(got.done, false, "an OOM event arrived before the timeout");
    assert.equal(got.value?.type, "oom");
    assert.ok((got.value?.kills ?? 0) >= 1);
  });

  it("streams stats until aborted, and ends when the cgroup is gone", {
    skip: !v1 && "no cgroup v1 on this host",
  }, async () => {
    requireRoot();
    const cg = await openCgroup({ containerId: "e", cgroupsPath: `${parent}/stats` });
    await cg.create();
    const ac = new AbortController();
    let n = 0;
    for await (const s of watchStats(cg, { intervalMs: 10, signal: ac.signal })) {
      assert.ok(s.memory.usage.limit > 0);
      if (++n === 3) ac.abort();
    }
    assert.equal(n, 3);
    await cg.destroy();
    const rest = [];
    for await (const s of watchStats(cg, { intervalMs: 10 })) rest.push(s);
    assert.equal(rest.length, 0);
  });

  it("merges stats and OOM events like runc events", {
    skip: !v1 && "no cgroup v1 on this host",
  }, async () => {
    requireRoot();
    const cg = await openCgroup({ containerId: "e", cgroupsPath: `${parent}/merged` });
    await cg.create();
    await cg.apply({ memory: { limit: 16 << 20 } });
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 10_000);
    const seen: string[] = [];
    let p: ReturnType<typeof startGated> | undefined;
    for await (const e of containerEvents(cg, "c1", { intervalMs: 200, oomPollMs: 20, signal: ac.signal })) {
      assert.equal(e.id, "c1");
      seen.push(e.type);
      if (e.type === "stats" && !p) {
        assert.equal(e.data.memory.usage.limit, 16 << 20);
        p = startGated(`x=$(head -c ${48 << 20} /dev/zero | tr '\\0' a); test -n "$x"`);
        await cg.addProcess(p.pid);
        p.release();
      }
      if (e.type === "oom") ac.abort();
    }
    clearTimeout(timer);
    await p?.exited;
    assert.equal(seen[0], "stats");
    assert.ok(seen.includes("oom"), `events: ${seen.join(",")}`);
  });
});
