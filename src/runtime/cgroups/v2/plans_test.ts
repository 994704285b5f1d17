import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isPierError } from "../../../errors.js";
import { planV2Cpu } from "./cpu.js";
import { planV2Hugetlb } from "./hugetlb.js";
import { parseIoStat, planV2Io } from "./io.js";
import { planV2Memory } from "./memory.js";
import { planUnified } from "./unified.js";

const MiB = 1024 * 1024;

describe("planV2Memory", () => {
  it("writes swap-only swap.max first, then max and low", () => {
    assert.deepEqual(
      planV2Memory(
        { limit: 100 * MiB, swap: 300 * MiB, reservation: 50 * MiB },
        { usage: 0, swapFile: true },
        [],
      ),
      [
        { file: "memory.swap.max", value: String(200 * MiB) },
        { file: "memory.max", value: String(100 * MiB) },
        { file: "memory.low", value: String(50 * MiB) },
      ],
    );
  });
  it("writes max for unlimited and skips swap without swap accounting only when unlimited", () => {
    assert.deepEqual(planV2Memory({ limit: -1 }, { usage: 0, swapFile: false }, []), [
      { file: "memory.max", value: "max" },
    ]);
    assert.throws(
      () => planV2Memory({ limit: MiB, swap: 2 * MiB }, { usage: 0, swapFile: false }, []),
      (e: unknown) => isPierError(e, "UNSUPPORTED"),
    );
  });
  it("refuses a limit below usage when asked, and notes v1-only fields", () => {
    assert.throws(
      () => planV2Memory({ limit: MiB, checkBeforeUpdate: true }, { usage: 2 * MiB, swapFile: true }, []),
      (e: unknown) => isPierError(e, "LIMIT_BELOW_USAGE"),
    );
    const notes: string[] = [];
    assert.deepEqual(
      planV2Memory(
        { kernel: 1, kernelTCP: 1, swappiness: 1, disableOOMKiller: true },
        { usage: 0, swapFile: true },
        notes,
      ),
      [],
    );
    assert.equal(notes.length, 4);
  });
});

describe("planV2Cpu", () => {
  it("converts shares, writes cpu.max as runc does, keeps burst apart", () => {
    assert.deepEqual(planV2Cpu({ shares: 1024, quota: 50000, period: 100000, burst: 1000, idle: 0 }), {
      writes: [
        { file: "cpu.idle", value: "0" },
        { file: "cpu.weight", value: "39" },
        { file: "cpu.max", value: "50000 100000" },
      ],
      burst: { file: "cpu.max.burst", value: "1000" },
    });
    assert.deepEqual(planV2Cpu({ quota: -1 }).writes, [{ file: "cpu.max", value: "max" }]);
    assert.deepEqual(planV2Cpu({ period: 20000 }).writes, [{ file: "cpu.max", value: "max 20000" }]);
  });
  it("refuses realtime settings", () => {
    assert.throws(
      () => planV2Cpu({ realtimeRuntime: 1000 }),
      (e: unknown) => isPierError(e, "UNSUPPORTED"),
    );
  });
});

describe("planV2Io", () => {
  const b = {
    weight: 500,
    leafWeight: 10,
    weightDevice: [{ major: 8, minor: 0, weight: 100 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }],
    throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 30 }],
  };
  it("converts weights to io.weight without BFQ", () => {
    const notes: string[] = [];
    assert.deepEqual(planV2Io(b, false, notes), [
      { file: "io.weight", value: "4950" },
      { file: "io.weight", value: "8:0 910" },
      { file: "io.max", value: "8:0 rbps=1000" },
      { file: "io.max", value: "8:16 wiops=30" },
    ]);
    assert.match(notes[0] ?? "", /leafWeight/);
  });
  it("keeps the blkio scale with BFQ", () => {
    assert.deepEqual(planV2Io({ weight: 500 }, true, []), [{ file: "io.bfq.weight", value: "500" }]);
  });
  it("parses io.stat", () => {
    const { bytes, ios } = parseIoStat("8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
    assert.deepEqual(bytes, [
      { major: 8, minor: 0, op: "Read", value: 10 },
      { major: 8, minor: 0, op: "Write", value: 20 },
    ]);
    assert.deepEqual(ios[1], { major: 8, minor: 0, op: "Write", value: 2 });
  });
});

describe("planV2Hugetlb and planUnified", () => {
  it("writes max and, when present, rsvd.max", () => {
    assert.deepEqual(planV2Hugetlb([{ pageSize: "2MB", limit: 4194304 }], true), [
      { file: "hugetlb.2MB.max", value: "4194304" },
      { file: "hugetlb.2MB.rsvd.max", value: "4194304" },
    ]);
  });
  it("writes unified keys as-is, refusing disabled controllers and unsafe names", () => {
    assert.deepEqual(planUnified({ "memory.high": "1G", "cgroup.max.depth": "3" }, ["memory"]), [
      { file: "memory.high", value: "1G" },
      { file: "cgroup.max.depth", value: "3" },
    ]);
    assert.throws(() => planUnified({ "io.max": "x" }, ["memory"]), /io controller is not enabled/);
    assert.throws(
      () => planUnified({ "../x": "1" }, []),
      (e: unknown) => isPierError(e, "INVALID_PATH"),
    );
  });
});
