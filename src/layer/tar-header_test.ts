import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { header } from "../testing/layer-tar.js";
import { LayerError } from "./error.js";
import {
  BLOCK,
  decodePax,
  decodeRawHeader,
  encodeHeader,
  finishHeader,
  type TarHeader,
} from "./tar-header.js";

/** Decodes what encodeHeader wrote (PAX block included) back into a header. */
function roundTrip(h: TarHeader): { out: TarHeader; blocks: number } {
  const buf = encodeHeader(h);
  let raw = decodeRawHeader(buf.subarray(0, BLOCK));
  let pax: Map<string, Buffer> | undefined;
  if (raw.typeflag === 0x78) {
    pax = decodePax(buf.subarray(BLOCK, BLOCK + raw.size));
    raw = decodeRawHeader(buf.subarray(buf.length - BLOCK));
  }
  return { out: finishHeader(raw, pax, undefined, undefined), blocks: buf.length / BLOCK };
}

describe("tar headers", () => {
  it("round-trips a plain ustar header in one block", () => {
    const h = header({
      name: "etc/hostname",
      body: "x",
      mode: 0o4755,
      uid: 1000,
      gid: 100,
      mtime: 1700000000,
    });
    const { out, blocks } = roundTrip(h);
    assert.equal(blocks, 1);
    assert.deepEqual(out, h);
  });

  it("uses the ustar prefix for names up to 256 bytes and PAX beyond", () => {
    const mid = header({ name: `${"p".repeat(150)}/${"n".repeat(99)}` });
    assert.equal(roundTrip(mid).blocks, 1);
    assert.equal(roundTrip(mid).out.name, mid.name);
    const long = header({ name: `${"x".repeat(300)}/file` });
    const r = roundTrip(long);
    assert.ok(r.blocks > 1);
    assert.equal(r.out.name, long.name);
  });

  it("records in PAX what ustar cannot hold: link targets, ids, sizes, fractional mtimes, binary xattrs", () => {
    const cap = Buffer.from("0100000200200000000000000000000000000000", "hex");
    const h = header({
      name: "bin/ping",
      type: "symlink",
      linkname: "t".repeat(200),
      uid: 5_000_000,
      gid: 70_000_000,
      mtime: 1700000000.25,
      xattrs: new Map([
        ["security.capability", cap],
        ["user.text", Buffer.from("a=b\nc")],
      ]),
    });
    const { out } = roundTrip(h);
    assert.deepEqual(out, h);
    const big = header({ name: "huge", size: 9 * 1024 ** 3 });
    assert.equal(roundTrip(big).out.size, 9 * 1024 ** 3);
  });

  it("encodes device numbers and directories as tar does", () => {
    const dev = header({ name: "dev/sda", type: "block", devmajor: 8, devminor: 0, mode: 0o660 });
    assert.deepEqual(roundTrip(dev).out, dev);
    const dir = encodeHeader(header({ name: "usr", type: "dir" }));
    assert.equal(dir.toString("latin1", 0, 4), "usr/");
    assert.equal(String.fromCharCode(dir[156] as number), "5");
  });

  it("is deterministic: xattrs sorted, uname/gname empty", () => {
    const a = encodeHeader(
      header({
        name: "f",
        xattrs: new Map([
          ["user.b", Buffer.from("2")],
          ["user.a", Buffer.from("1")],
        ]),
      }),
    );
    const b = encodeHeader(
      header({
        name: "f",
        xattrs: new Map([
          ["user.a", Buffer.from("1")],
          ["user.b", Buffer.from("2")],
        ]),
      }),
    );
    assert.deepEqual(a, b);
    assert.equal(
      a.subarray(a.length - BLOCK + 265, a.length - BLOCK + 329).every((x) => x === 0),
      true,
    );
  });

  it("refuses a bad checksum, bad octal and unknown types with INVALID_TAR / UNSUPPORTED_ENTRY", () => {
    const b = Buffer.from(encodeHeader(header({ name: "f" })));
    b[0] = 0x67;
    assert.throws(
      () => decodeRawHeader(b),
      (e: unknown) => e instanceof LayerError && e.code === "INVALID_TAR",
    );
    // GNU multi-volume continuation ('M'): not something a layer can hold
    const sparse = Buffer.from(encodeHeader(header({ name: "s" })));
    sparse[156] = 0x4d;
    // fix the checksum so only the type is wrong
    sparse.fill(0x20, 148, 156);
    let sum = 0;
    for (const x of sparse) sum += x;
    sparse.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    assert.throws(
      () => finishHeader(decodeRawHeader(sparse), undefined, undefined, undefined),
      (e: unknown) => e instanceof LayerError && e.code === "UNSUPPORTED_ENTRY",
    );
    assert.throws(
      () => decodePax(Buffer.from("99 path=x\n")),
      (e: unknown) => e instanceof LayerError && e.code === "INVALID_TAR",
    );
  });

  it("accepts the checksum as unsigned or as old tars' signed sum, and refuses any other", () => {
    // A name with bytes above 127: the two sums differ (by 256 per such byte).
    const b = Buffer.from(encodeHeader(header({ name: "été/ß" })));
    b.fill(0x20, 148, 156);
    let unsigned = 0;
    let signed = 0;
    for (const x of b) {
      unsigned += x;
      signed += x > 127 ? x - 256 : x;
    }
    assert.notEqual(unsigned, signed);
    const withSum = (sum: number) => {
      const c = Buffer.from(b);
      c.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
      return c;
    };
    assert.equal(decodeRawHeader(withSum(unsigned)).name, "été/ß");
    assert.equal(decodeRawHeader(withSum(signed)).name, "été/ß");
    for (const wrong of [unsigned + 1, unsigned - 1, signed + 1, signed - 256, unsigned + 256])
      assert.throws(
        () => decodeRawHeader(withSum(wrong)),
        (e: unknown) => e instanceof LayerError && e.code === "INVALID_TAR" && /checksum/.test(e.message),
        String(wrong),
      );
  });
});
