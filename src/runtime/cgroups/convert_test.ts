import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isPierError } from "../../errors.js";
import {
  blkioWeightToIoWeight,
  memorySwapToV2,
  parseCpuList,
  rdmaLines,
  sharesToWeight,
  ticksToNanoseconds,
  v1DeviceRule,
  v2Limit,
} from "./convert.js";
import { hugePageSizeName } from "./hugepages.js";

describe("v1 to v2 conversions (runc's formulas)", () => {
  it("converts cpu shares to weight", () => {
    const table: Array<[number, number]> = [
      [0, 0],
      [2, 1],
      [1024, 39],
      [512, 20],
      [262144, 10000],
      [1, 1],
      [1_000_000, 10000],
    ];
    for (const [shares, weight] of table) assert.equal(sharesToWeight(shares), weight, `shares ${shares}`);
  });
  it("converts blkio weight to io.weight", () => {
    for (const [w, io] of [
      [0, 0],
      [10, 1],
      [500, 4950],
      [1000, 10000],
    ] as const) {
      assert.equal(blkioWeightToIoWeight(w), io, `weight ${w}`);
    }
  });
  it("turns memory+swap into v2's swap-only value", () => {
    assert.equal(memorySwapToV2(300, 100), 200);
    assert.equal(memorySwapToV2(100, 100), 0);
    assert.equal(memorySwapToV2(-1, 100), -1);
    assert.equal(memorySwapToV2(undefined, -1), -1);
    assert.equal(memorySwapToV2(undefined, 100), undefined);
    assert.throws(
      () => memorySwapToV2(50, 100),
      (e: unknown) => isPierError(e, "UNSUPPORTED"),
    );
    assert.throws(
      () => memorySwapToV2(50, undefined),
      (e: unknown) => isPierError(e, "UNSUPPORTED"),
    );
  });
  it("writes negative limits as max", () => {
    assert.equal(v2Limit(-1), "max");
    assert.equal(v2Limit(4096), "4096");
  });
});

describe("formats", () => {
  it("writes device rules as the v1 devices files want them", () => {
    assert.equal(v1DeviceRule({ allow: false, access: "rwm" }), "a");
    assert.equal(v1DeviceRule({ allow: true, type: "c", major: 1, minor: 3, access: "rw" }), "c 1:3 rw");
    assert.equal(v1DeviceRule({ allow: true, type: "b", major: 8 }), "b 8:* rwm");
    assert.equal(v1DeviceRule({ allow: true, type: "c", major: -1, minor: -1, access: "m" }), "c *:* m");
  });
  it("parses cpu lists", () => {
    assert.deepEqual(parseCpuList("0-3,7\n"), [0, 1, 2, 3, 7]);
    assert.deepEqual(parseCpuList(""), []);
    assert.throws(
      () => parseCpuList("3-1"),
      (e: unknown) => isPierError(e, "READ_FAILED"),
    );
  });
  it("formats rdma.max lines", () => {
    assert.deepEqual(rdmaLines({ mlx5_1: { hcaHandles: 3, hcaObjects: 10 }, rxe: { hcaObjects: 5 } }), [
      "mlx5_1 hca_handle=3 hca_object=10",
      "rxe hca_object=5",
    ]);
  });
  it("names huge page sizes like the kernel", () => {
    assert.equal(hugePageSizeName(2048), "2MB");
    assert.equal(hugePageSizeName(1048576), "1GB");
    assert.equal(hugePageSizeName(64), "64KB");
  });
  it("converts USER_HZ ticks to nanoseconds", () => {
    assert.equal(ticksToNanoseconds(150), 1_500_000_000);
  });
});
