import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { describe, it } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { LayerError } from "./error.js";
import {
  escapeAttrName,
  formatRestoreFile,
  parseGetfattrDump,
  readTreeXattrs,
  restoreXattrs,
  unescapeAttrName,
} from "./xattr.js";

describe("xattr dump format", () => {
  it("escapes and unescapes names as getfattr does", () => {
    for (const name of ["plain", "with space", "new\nline", "back\\slash", "é=x", "tab\there"]) {
      assert.equal(unescapeAttrName(escapeAttrName(name)), name);
    }
    assert.equal(unescapeAttrName("/tmp/x/n\\012l"), "/tmp/x/n\nl");
    assert.equal(unescapeAttrName("bs\\134q"), "bs\\q");
  });

  it("parses hex, base64 and text values and formats them back", () => {
    const dump =
      '# file: /r/a b\nuser.hex=0x00ff\nuser.b64=0sAP8=\nuser.txt="hi"\n\n# file: /r/n\\012l\nsecurity.capability=0x0100000200200000000000000000000000000000\n\n';
    const parsed = parseGetfattrDump(dump);
    assert.deepEqual([...parsed.keys()], ["/r/a b", "/r/n\nl"]);
    const a = parsed.get("/r/a b");
    assert.deepEqual(a?.get("user.hex"), Buffer.from([0, 255]));
    assert.deepEqual(a?.get("user.b64"), Buffer.from([0, 255]));
    assert.deepEqual(a?.get("user.txt"), Buffer.from("hi"));
    const again = parseGetfattrDump(formatRestoreFile(parsed));
    assert.deepEqual(again, parsed);
  });
});

describe("xattrs on a real tree", () => {
  it("restores with one setfattr and reads back with one getfattr, never through symlinks", async () => {
    const root = await makeTempDir("pier-layer-xattr-");
    try {
      mkdirSync(`${root}/d`);
      writeFileSync(`${root}/d/f\nweird name`, "x");
      writeFileSync(`${root}/target`, "t");
      symlinkSync("target", `${root}/link`);
      const value = Buffer.from([0, 1, 2, 0xff, 0x0a, 0x3d]);
      await restoreXattrs([
        [`${root}/d`, new Map([["user.dir", Buffer.from("dir")]])],
        [`${root}/d/f\nweird name`, new Map([["user.bin", value]])],
      ]);
      const read = await readTreeXattrs(root);
      assert.deepEqual(read.get("d")?.get("user.dir"), Buffer.from("dir"));
      assert.deepEqual(read.get("d/f\nweird name")?.get("user.bin"), value);
      // user.* is not allowed on symlinks: setfattr -h must fail rather than set the target's.
      await assert.rejects(
        restoreXattrs([[`${root}/link`, new Map([["user.x", Buffer.from("1")]])]]),
        (e: unknown) => e instanceof LayerError && e.code === "XATTR_FAILED",
      );
      assert.equal((await readTreeXattrs(root)).has("target"), false);
    } finally {
      await removeTempDir(root);
    }
  });
});
