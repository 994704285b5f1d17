import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isPierError } from "../../../errors.js";
import {
  disposeTree,
  hostHasV1,
  requireRoot,
  startGated,
  uniqueParent,
} from "../../../testing/runtime-cgroups.js";
import { openCgroup } from "../manager.js";
import { planV1Memory } from "./memory.js";

const MiB = 1024 * 1024;
const state = { limit: 100 * MiB, usage: 10 * MiB, swapAccounting: true };

describe("planV1Memory", () => {
  it("writes swap before the limit when swap grows past the current limit", () => {
    const w = planV1Memory({ limit: 300 * MiB, swap: 400 * MiB }, state, []);
    assert.deepEqual(
      w.map((x) => x.file),
      ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"],
    );
  });
  it("writes the limit first when shrinking", () => {
    const w = planV1Memory({ limit: 50 * MiB, swap: 80 * MiB }, state, []);
    assert.deepEqual(
      w.map((x) => x.file),
      ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"],
    );
  });
  it("makes swap unlimited with unlimited memory", () => {
    assert.deepEqual(planV1Memory({ limit: -1 }, state, []), [
      { file: "memory.memsw.limit_in_bytes", value: "-1" },
      { file: "memory.limit_in_bytes", value: "-1" },
    ]);
  });
  it("maps the other fields and notes the ignored kernel limit", () => {
    const notes: string[] = [];
    const w = planV1Memory(
      { reservation: 5, kernel: 10, kernelTCP: 20, swappiness: 0, disableOOMKiller: true },
      state,
      notes,
    );
    assert.deepEqual(w, [
      { file: "memory.soft_limit_in_bytes", value: "5" },
      { file: "memory.kmem.tcp.limit_in_bytes", value: "20" },
      { file: "memory.swappiness", value: "0" },
      { file: "memory.oom_control", value: "1" },
    ]);
    assert.match(notes[0] ?? "", /memory\.kernel is ignored/);
  });
  it("refuses a limit below usage with checkBeforeUpdate, and swap without accounting", () => {
    assert.throws(
      () => planV1Memory({ limit: MiB, checkBeforeUpdate: true }, state, []),
      (e: unknown) => isPierError(e, "LIMIT_BELOW_USAGE"),
    );
    assert.throws(
      () => planV1Memory({ limit: MiB, swap: 2 * MiB }, { ...state, swapAccounting: false }, []),
      (e: unknown) => isPierError(e, "UNSUPPORTED"),
    );
  });
});

describe("v1 memory on this kernel", async () => {
  const v1 = await hostHasV1();
  const parent = uniqueParent("mem");
  after(() => disposeTree(parent));

  it("enforces the limit: the kernel OOM-kills an allocation past it", {
    skip: !v1 && "no cgroup v1 on this host",
  }, async () => {
    requireRoot();
    const cg = await openCgroup({ containerId: "m", cgroupsPath: `${parent}/oom` });
    await cg.create();
    await cg.apply({ memory: { limit: 20 * MiB } });
    const dir = cg.paths.memory!;
    assert.equal((await readFile(join(dir, "memory.limit_in_bytes"), "utf8")).trim(), String(20 * MiB));
    const p = startGated(`x=$(head -c ${64 * MiB} /dev/zero | tr '\\0' a); echo survived`);
    await cg.addProcess(p.pid);
    p.release();
    const result = await p.exited;
    assert.notEqual(result.code, 0, "the allocation must not succeed");
    assert.ok((await cg.oomKillCount()) >= 1, "memory.oom_control counts the kill");
    const stats = await cg.stats();
    assert.equal(stats.memory.usage.limit, 20 * MiB);
    assert.ok(stats.memory.usage.failcnt > 0);
    assert.ok((stats.memory.usage.max ?? 0) > 10 * MiB);
  });

  it("refuses a limit below usage (checkBeforeUpdate, and the kernel's own EBUSY)", {
    skip: !v1 && "no cgroup v1 on this host",
  }, async () => {
    requireRoot();
    const cg = await openCgroup({ containerId: "m", cgroupsPath: `${parent}/busy` });
    await cg.create();
    // Hold 8 MiB in a shell variable, then wait; a trailing command keeps busybox from exec'ing
    // sleep (which would drop the variable).
    const p = startGated(`x=$(head -c ${8 * MiB} /dev/zero | tr '\\0' a); sleep 30; test -n "$x"`);
    await cg.addProcess(p.pid);
    p.release();
    for (let i = 0; i < 200 && (await cg.stats()).memory.usage.usage! < 4 * MiB; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok((await cg.stats()).memory.usage.usage! >= 4 * MiB, "the workload holds memory");
    await assert.rejects(cg.update({ memory: { limit: MiB, checkBeforeUpdate: true } }), (e: unknown) =>
      isPierError(e, "LIMIT_BELOW_USAGE"),
    );
    p.child.kill("SIGKILL");
    await p.exited;
  });
});
