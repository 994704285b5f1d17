import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isPierError } from "../../../errors.js";
import { parseV1BlkioStat, planV1Blkio } from "./blkio.js";
import { planCpuset } from "./cpuset.js";
import { planV1Hugetlb } from "./hugetlb.js";
import { planV1NetPrio } from "./net_prio.js";

describe("planV1Blkio", () => {
  const b = {
    weight: 500,
    leafWeight: 300,
    weightDevice: [{ major: 8, minor: 0, weight: 100, leafWeight: 50 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }],
    throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2000 }],
    throttleReadIOPSDevice: [{ major: 8, minor: 16, rate: 30 }],
    throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 40 }],
  };
  it("uses the CFQ files, one device line per write", () => {
    assert.deepEqual(planV1Blkio(b, "cfq"), [
      { file: "blkio.weight", value: "500" },
      { file: "blkio.leaf_weight", value: "300" },
      { file: "blkio.weight_device", value: "8:0 100" },
      { file: "blkio.leaf_weight_device", value: "8:0 50" },
      { file: "blkio.throttle.read_bps_device", value: "8:0 1000" },
      { file: "blkio.throttle.write_bps_device", value: "8:0 2000" },
      { file: "blkio.throttle.read_iops_device", value: "8:16 30" },
      { file: "blkio.throttle.write_iops_device", value: "8:16 40" },
    ]);
  });
  it("uses the BFQ files when that is what the kernel has", () => {
    assert.deepEqual(
      planV1Blkio({ weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 100 }] }, "bfq"),
      [
        { file: "blkio.bfq.weight", value: "500" },
        { file: "blkio.bfq.weight_device", value: "8:0 100" },
      ],
    );
  });
  it("refuses weights without weight files, but throttles anyway", () => {
    assert.throws(
      () => planV1Blkio({ weight: 500 }, "none"),
      (e: unknown) => isPierError(e, "UNSUPPORTED"),
    );
    assert.equal(planV1Blkio({ throttleReadBpsDevice: [{ major: 7, minor: 0, rate: 1 }] }, "none").length, 1);
  });
  it("parses blkio stat files", () => {
    assert.deepEqual(parseV1BlkioStat("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n"), [
      { major: 8, minor: 0, op: "Read", value: 4096 },
      { major: 8, minor: 0, op: "Write", value: 0 },
    ]);
  });
});

describe("other v1 plans", () => {
  it("hugetlb writes the limit and, when present, the reservation limit", () => {
    assert.deepEqual(planV1Hugetlb([{ pageSize: "2MB", limit: 4194304 }], true), [
      { file: "hugetlb.2MB.limit_in_bytes", value: "4194304" },
      { file: "hugetlb.2MB.rsvd.limit_in_bytes", value: "4194304" },
    ]);
    assert.equal(planV1Hugetlb([{ pageSize: "1GB", limit: 0 }], false).length, 1);
  });
  it("net_prio writes one ifpriomap line per interface", () => {
    assert.deepEqual(
      planV1NetPrio([
        { name: "eth0", priority: 5 },
        { name: "lo", priority: 1 },
      ]),
      [
        { file: "net_prio.ifpriomap", value: "eth0 5" },
        { file: "net_prio.ifpriomap", value: "lo 1" },
      ],
    );
  });
  it("cpuset writes non-empty lists only", () => {
    assert.deepEqual(planCpuset({ cpu: { cpus: "0-1", mems: "" } }), [{ file: "cpuset.cpus", value: "0-1" }]);
  });
});
