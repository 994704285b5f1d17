import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync } from "node:fs";
import { buffer } from "node:stream/consumers";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { type FixtureEntry, streamOf, tarOf } from "../testing/layer-tar.js";
import { snapshotTree } from "../testing/tree-snapshot.js";
import { applyLayer } from "./apply.js";
import { devMajor, packDirectory } from "./pack.js";
import { readTar } from "./tar-reader.js";

const lower: FixtureEntry[] = [
  { name: "a", type: "dir" },
  { name: "a/gone", body: "1" },
  { name: "a/kept", body: "2" },
  { name: "o", type: "dir" },
  { name: "o/old", body: "3" },
];
const upper: FixtureEntry[] = [
  { name: "a", type: "dir" },
  { name: "a/.wh.gone" },
  { name: "a/new", body: "4" },
  { name: "o", type: "dir" },
  { name: "o/.wh..wh..opq" },
  { name: "o/fresh", body: "5" },
];

describe("overlayfs whiteouts", () => {
  let work: string;
  before(async () => {
    work = await makeTempDir("pier-layer-overlay-");
  });
  after(async () => {
    try {
      execFileSync("umount", [`${work}/merged`], { stdio: "ignore" });
    } catch {
      // not mounted
    }
    await removeTempDir(work);
  });

  it("applies whiteouts as overlayfs devices and xattrs, and packs them back as .wh. entries", async () => {
    const l2 = `${work}/l2`;
    mkdirSync(l2);
    const stats = await applyLayer(l2, streamOf(tarOf(upper)), { whiteouts: "overlay" });
    assert.equal(stats.whiteouts, 1);
    const dev = lstatSync(`${l2}/a/gone`);
    assert.ok(dev.isCharacterDevice());
    assert.equal(dev.rdev, 0);
    assert.equal(devMajor(dev.rdev), 0);
    const attr = execFileSync(
      "getfattr",
      ["--absolute-names", "-n", "trusted.overlay.opaque", "--only-values", `${l2}/o`],
      {
        encoding: "utf8",
      },
    );
    assert.equal(attr, "y");
    const names: string[] = [];
    for await (const e of readTar(streamOf(await buffer(await packDirectory(l2, { overlay: true }))))) {
      names.push(e.header.name);
      assert.ok(![...e.header.xattrs.keys()].some((k) => k.startsWith("trusted.overlay.")));
    }
    assert.deepEqual(names, ["a", "a/.wh.gone", "a/new", "o", "o/.wh..wh..opq", "o/fresh"]);
  });

  it("an overlay mount of per-layer directories equals applying the layers in one directory", async () => {
    const l1 = `${work}/l1`;
    mkdirSync(l1);
    await applyLayer(l1, streamOf(tarOf(lower)), { whiteouts: "overlay" });
    const flat = `${work}/flat`;
    mkdirSync(flat);
    await applyLayer(flat, streamOf(tarOf(lower)));
    await applyLayer(flat, streamOf(tarOf(upper)));
    const merged = `${work}/merged`;
    mkdirSync(merged);
    execFileSync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${work}/l2:${l1}`, merged]);
    try {
      assert.deepEqual(
        snapshotTree(merged, { mtime: false, xattrs: false }),
        snapshotTree(flat, { mtime: false, xattrs: false }),
      );
    } finally {
      execFileSync("umount", [merged]);
    }
  });
});
