import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isPierError } from "../../errors.js";
import {
  parseCgroupNumber,
  parseFlatKeyed,
  parseNestedKeyed,
  readCgroupFile,
  readOptional,
  UINT64_MAX,
  writeCgroupFile,
} from "./fs.js";

describe("cgroup file formats", () => {
  it("parses numbers and max", () => {
    assert.equal(parseCgroupNumber("4096\n"), 4096);
    assert.equal(parseCgroupNumber("max\n"), UINT64_MAX);
    assert.equal(parseCgroupNumber("-1"), -1);
    assert.throws(
      () => parseCgroupNumber("12k"),
      (e: unknown) => isPierError(e, "READ_FAILED"),
    );
  });
  it("parses flat keyed files", () => {
    assert.deepEqual(parseFlatKeyed("usage_usec 10\nnr_periods 3\nbogus\nmax max\n"), {
      usage_usec: 10,
      nr_periods: 3,
      max: UINT64_MAX,
    });
  });
  it("parses nested keyed files", () => {
    assert.deepEqual(parseNestedKeyed("8:0 rbytes=1 wbytes=2 rios=max\n\n"), [
      { key: "8:0", values: { rbytes: 1, wbytes: 2, rios: UINT64_MAX } },
    ]);
  });
});

describe("cgroup file I/O", () => {
  it("names the file, value and errno when a write fails", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pier-cgfs-"));
    try {
      await writeCgroupFile(dir, "ok", "1");
      assert.equal(await readCgroupFile(dir, "ok"), "1");
      assert.equal(await readOptional(dir, "missing"), undefined);
      await assert.rejects(readCgroupFile(dir, "missing"), (e: unknown) => isPierError(e, "NOT_FOUND"));
      await assert.rejects(
        writeCgroupFile(join(dir, "nope"), "memory.max", "10"),
        (e: unknown) =>
          isPierError(e, "WRITE_FAILED") && /"10" to .*memory\.max: ENOENT/.test((e as Error).message),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
