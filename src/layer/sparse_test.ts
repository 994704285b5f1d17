import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  closeSync,
  createReadStream,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { rawEntry, streamOf, tarOf } from "../testing/layer-tar.js";
import { applyLayer } from "./apply.js";
import { LayerError } from "./error.js";
import { MAX_SPARSE_SEGMENTS } from "./sparse.js";

const GiB = 1 << 30;

/** A 1 GiB file with data at the start, 100 islands of 70 KB in the middle and 3 bytes near the end. */
function makeSparseFile(path: string): void {
  const fd = openSync(path, "w");
  try {
    writeSync(fd, Buffer.alloc(5000, "a"), 0, 5000, 0);
    for (let i = 0; i < 100; i++) {
      const island = Buffer.alloc(70_000, 65 + (i % 26));
      writeSync(fd, island, 0, island.length, 300 * (1 << 20) + i * (1 << 22));
    }
    writeSync(fd, Buffer.from("end"), 0, 3, GiB - 10_000);
    ftruncateSync(fd, GiB);
  } finally {
    closeSync(fd);
  }
}

async function refusal(tar: Buffer): Promise<LayerError> {
  const dest = mkdtempSync(join(tmpdir(), "pier-sparse-bad-"));
  try {
    await applyLayer(dest, streamOf(tar));
  } catch (err) {
    assert.ok(err instanceof LayerError, String(err));
    return err;
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
  assert.fail("the hostile layer was applied");
}

/** A PAX sparse 0.1 entry `f` with `map` and a body of `stored` bytes. */
function pax01(map: string, realSize: number, stored: number, extra: [string, string][] = []): Buffer {
  return Buffer.concat([
    rawEntry("x", "PaxHeaders/f", [
      ["GNU.sparse.size", String(realSize)],
      ["GNU.sparse.map", map],
      ["GNU.sparse.name", "f"],
      ...extra,
    ]),
    tarOf([{ name: "GNUSparseFile.1/f", body: Buffer.alloc(stored, 1) }]),
  ]);
}

describe("sparse entries", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "pier-sparse-"));
    mkdirSync(join(dir, "src"));
    makeSparseFile(join(dir, "src", "sparse.bin"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const formats: [string, string[]][] = [
    ["pax 0.0", ["--format=pax", "--sparse-version=0.0"]],
    ["pax 0.1", ["--format=pax", "--sparse-version=0.1"]],
    ["pax 1.0", ["--format=pax", "--sparse-version=1.0"]],
    ["gnu (type S)", ["--format=gnu"]],
  ];
  for (const [label, flags] of formats) {
    it(`applies GNU tar's ${label} sparse file byte for byte, keeping the holes`, async () => {
      const tar = join(dir, `${label.replace(/\W/g, "_")}.tar`);
      execFileSync("tar", ["--sparse", ...flags, "-C", join(dir, "src"), "-cf", tar, "sparse.bin"]);
      const out = mkdtempSync(join(dir, "out-"));
      const stats = await applyLayer(out, createReadStream(tar));
      assert.deepEqual(readdirSync(out), ["sparse.bin"], "no GNUSparseFile.* stand-in");
      const st = statSync(join(out, "sparse.bin"));
      assert.equal(st.size, GiB);
      assert.equal(stats.fileBytes, GiB);
      // cmp exits non-zero on the first differing byte.
      execFileSync("cmp", [join(dir, "src", "sparse.bin"), join(out, "sparse.bin")]);
      // ~7.3 MB of data: the 1 GiB of holes must not have been written.
      assert.ok(st.blocks * 512 < 16 << 20, `${st.blocks} blocks allocated: holes were filled`);
      rmSync(out, { recursive: true, force: true });
    });
  }

  it("refuses overlapping, out-of-order and out-of-range segments and a body that does not match the map", async () => {
    const cases: [string, Buffer, RegExp][] = [
      ["overlap", pax01("0,100,50,100", 1000, 200), /overlaps or is out of order/],
      ["out of order", pax01("500,100,0,100", 1000, 200), /overlaps or is out of order/],
      ["beyond the size", pax01("0,100,950,100", 1000, 200), /ends beyond the size/],
      ["sum differs", pax01("0,100,500,100", 1000, 300), /hold 200 bytes but the archive stores 300/],
      ["odd map", pax01("0,100,500", 1000, 100), /odd number/],
      ["negative", pax01("0,-100", 1000, 0), /invalid sparse/],
    ];
    for (const [what, tar, message] of cases) {
      const err = await refusal(tar);
      assert.equal(err.code, "INVALID_TAR", what);
      assert.match(err.message, message, what);
      assert.match(err.message, /"f"/, `${what}: the entry is named`);
    }
  });

  it("refuses an unknown sparse version instead of writing the stand-in file", async () => {
    const tar = pax01("0,1", 1, 1, [
      ["GNU.sparse.major", "2"],
      ["GNU.sparse.minor", "0"],
    ]);
    const err = await refusal(tar);
    assert.equal(err.code, "UNSUPPORTED_ENTRY");
    assert.match(err.message, /GNU sparse format 2\.0/);
  });

  it("refuses a sparse map with too many segments, before reading them", async () => {
    const pax10 = rawEntry("x", "PaxHeaders/f", [
      ["GNU.sparse.major", "1"],
      ["GNU.sparse.minor", "0"],
      ["GNU.sparse.name", "f"],
      ["GNU.sparse.realsize", "1000000000000"],
    ]);
    // A 1.0 map announcing 10^9 segments; the body holds a few blocks of it.
    const body = Buffer.alloc(4096);
    body.write("1000000000\n0\n1\n");
    const tar = Buffer.concat([pax10, tarOf([{ name: "GNUSparseFile.1/f", body }])]);
    const err = await refusal(tar);
    assert.equal(err.code, "INVALID_TAR");
    assert.match(err.message, new RegExp(`more than ${MAX_SPARSE_SEGMENTS} segments`));
    // Same in format 0.1, with a map just over the bound.
    const many = Array.from({ length: MAX_SPARSE_SEGMENTS + 1 }, (_, i) => `${i * 2},1`).join(",");
    const err01 = await refusal(pax01(many, 1 << 30, MAX_SPARSE_SEGMENTS + 1));
    assert.match(err01.message, /more than 131072 segments|extended headers/);
  });

  it("refuses a 1.0 map that runs past its entry", async () => {
    const pax10 = rawEntry("x", "PaxHeaders/f", [
      ["GNU.sparse.major", "1"],
      ["GNU.sparse.minor", "0"],
      ["GNU.sparse.name", "f"],
      ["GNU.sparse.realsize", "100"],
    ]);
    const body = Buffer.alloc(512, 0x31); // "1111…" with no newline
    const err = await refusal(Buffer.concat([pax10, tarOf([{ name: "GNUSparseFile.1/f", body }])]));
    assert.equal(err.code, "INVALID_TAR");
  });
});
