import assert from "node:assert/strict";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { Readable } from "node:stream";
import { after, before, beforeEach, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { compress as zstdCompress } from "zstd-napi";
import { digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { type FixtureEntry, tarOf } from "../testing/layer-tar.js";
import { snapshotTree } from "../testing/tree-snapshot.js";
import { applyLayer } from "./apply.js";
import { LayerError } from "./error.js";

const stream = (b: Buffer) => Readable.from([b]);

async function apply(root: string, entries: FixtureEntry[]) {
  return applyLayer(root, stream(tarOf(entries)));
}

function names(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const n of readdirSync(rel ? `${root}/${rel}` : root).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(`${root}/${r}`);
      out.push(
        st.isDirectory() ? `${r}/` : st.isSymbolicLink() ? `${r} -> ${readlinkSync(`${root}/${r}`)}` : r,
      );
      if (st.isDirectory()) walk(r);
    }
  };
  walk("");
  return out;
}

describe("applyLayer: layer semantics", () => {
  let root: string;
  beforeEach(async () => {
    root = await makeTempDir("pier-layer-apply-");
  });
  after(async () => {
    // each test removes its own root below
  });

  it("stacks three layers: whiteouts, opaque dirs, hard links across layers, replacements", async () => {
    try {
      await apply(root, [
        { name: "a", type: "dir" },
        { name: "a/sub", type: "dir" },
        { name: "a/sub/z", body: "z1" },
        { name: "a/x", body: "x1" },
        { name: "a/y", body: "y1" },
        { name: "b", body: "b1" },
        { name: "c", type: "dir" },
        { name: "c/deep", type: "dir" },
        { name: "c/deep/old", body: "old" },
        { name: "c/keep", body: "lower" },
        { name: "d", type: "dir" },
        { name: "d/inside", body: "d" },
        { name: "h1", body: "shared" },
      ]);
      const s2 = await apply(root, [
        { name: ".wh.b" },
        { name: "a/.wh.x" },
        { name: "c/.wh..wh..opq" },
        { name: "c/new", body: "new" },
        { name: "c/deep", type: "dir" },
        { name: "e", body: "same layer" },
        { name: ".wh.e" },
        { name: "h2", type: "link", linkname: "h1" },
      ]);
      assert.equal(s2.whiteouts, 3, "whiteout entries seen, including the one that hides nothing");
      assert.equal(s2.opaques, 1);
      assert.equal(s2.hardlinks, 1);
      await apply(root, [
        { name: "a/x", body: "x3" },
        { name: "a/y", type: "symlink", linkname: "x" },
        { name: "b", type: "dir" },
        { name: "b/inner", body: "inner" },
        { name: "d", body: "d is a file now" },
        { name: "h3", type: "link", linkname: "/h2" },
        { name: "f", type: "link", linkname: "a/x" },
      ]);
      assert.deepEqual(names(root), [
        "a/",
        "a/sub/",
        "a/sub/z",
        "a/x",
        "a/y -> x",
        "b/",
        "b/inner",
        "c/",
        "c/deep/",
        "c/new",
        "d",
        "e",
        "f",
        "h1",
        "h2",
        "h3",
      ]);
      assert.equal(readFileSync(`${root}/a/x`, "utf8"), "x3");
      assert.equal(readFileSync(`${root}/d`, "utf8"), "d is a file now");
      const ino = statSync(`${root}/h1`).ino;
      assert.equal(statSync(`${root}/h2`).ino, ino);
      assert.equal(statSync(`${root}/h3`).ino, ino);
      assert.equal(statSync(`${root}/h1`).nlink, 3);
      assert.equal(statSync(`${root}/f`).ino, statSync(`${root}/a/x`).ino);
    } finally {
      await removeTempDir(root);
    }
  });

  it("applies an opaque whiteout before same-layer entries, whatever their order", async () => {
    try {
      await apply(root, [
        { name: "c/low1", body: "1" },
        { name: "c/low2/deeper", body: "2" },
      ]);
      await apply(root, [{ name: "c/low2/mine", body: "mine" }, { name: "c/.wh..wh..opq" }]);
      assert.deepEqual(names(root), ["c/", "c/low2/", "c/low2/mine"]);
      await apply(root, [{ name: "n/.wh..wh..opq" }]);
      assert.deepEqual(names(root), ["c/", "c/low2/", "c/low2/mine", "n/"]);
    } finally {
      await removeTempDir(root);
    }
  });

  it("sets directory metadata after the contents and keeps modes, owners and mtimes", async () => {
    try {
      await apply(root, [
        { name: "ro", type: "dir", mode: 0o555, uid: 12, gid: 34, mtime: 946684800 },
        { name: "ro/f", body: "x", mode: 0o4711, uid: 5, gid: 6, mtime: 1e9 },
        { name: "ro/l", type: "symlink", linkname: "f", uid: 7, gid: 8, mtime: 1.5e9 },
      ]);
      const d = lstatSync(`${root}/ro`);
      assert.equal(d.mode & 0o7777, 0o555);
      assert.equal(d.uid, 12);
      assert.equal(d.mtimeMs, 946684800000);
      const f = lstatSync(`${root}/ro/f`);
      assert.equal(f.mode & 0o7777, 0o4711);
      assert.deepEqual([f.uid, f.gid, f.mtimeMs], [5, 6, 1e12]);
      const l = lstatSync(`${root}/ro/l`);
      assert.deepEqual([l.uid, l.gid, l.mtimeMs], [7, 8, 1.5e12]);
    } finally {
      await removeTempDir(root);
    }
  });
  it("gives files the layer's owner in a set-group-ID directory of another group too", async () => {
    try {
      // A directory from below (another layer, or the host) that hands its group to new files.
      mkdirSync(`${root}/shared`);
      chownSync(`${root}/shared`, 0, 4321);
      chmodSync(`${root}/shared`, 0o2775);
      const big = Buffer.alloc((1 << 20) + 5, "b"); // streamed, not read whole
      await apply(root, [
        { name: "shared/root-owned", body: "x", uid: 0, gid: 0 },
        { name: "shared/big", body: big, uid: 0, gid: 0 },
        { name: "shared/other", body: "x", uid: 1000, gid: 1000 },
        // A directory of this layer inside it: made setgid by its parent, then the layer's group.
        { name: "shared/sub", type: "dir", uid: 0, gid: 0 },
        { name: "shared/sub/f", body: "x", uid: 0, gid: 0 },
        { name: "plain", type: "dir", uid: 0, gid: 4321 },
        { name: "plain/f", body: "x", uid: 0, gid: 0 },
      ]);
      const owner = (p: string) => {
        const st = lstatSync(`${root}/${p}`);
        return [st.uid, st.gid];
      };
      assert.deepEqual(owner("shared/root-owned"), [0, 0]);
      assert.deepEqual(owner("shared/big"), [0, 0]);
      assert.deepEqual(owner("shared/other"), [1000, 1000]);
      assert.deepEqual(owner("shared/sub"), [0, 0]);
      assert.deepEqual(owner("shared/sub/f"), [0, 0]);
      assert.deepEqual(owner("plain/f"), [0, 0]);
      assert.deepEqual(owner("plain"), [0, 4321]);
    } finally {
      await removeTempDir(root);
    }
  });
});

describe("applyLayer: hostile input never writes outside the root", () => {
  let work: string;
  let root: string;
  let canary: string;
  let canaryBefore: string[];
  let canaryMode: number;
  before(async () => {
    work = await makeTempDir("pier-layer-hostile-");
    canary = `${work}/canary`;
    mkdirSync(canary);
    writeFileSync(`${canary}/secret`, "do not touch");
    canaryBefore = snapshotTree(canary);
    canaryMode = statSync(canary).mode;
  });
  after(async () => {
    await removeTempDir(work);
  });
  let n = 0;
  beforeEach(() => {
    root = `${work}/root${n++}`;
    mkdirSync(root);
  });
  const canaryIntact = () => {
    assert.deepEqual(snapshotTree(canary), canaryBefore);
    assert.equal(statSync(canary).mode, canaryMode);
    assert.deepEqual(
      readdirSync(work).filter((x) => !x.startsWith("root") && x !== "canary" && !x.endsWith(".tar")),
      [],
    );
  };
  const rejects = async (entries: FixtureEntry[], code: string) => {
    await assert.rejects(
      apply(root, entries),
      (err: unknown) => err instanceof LayerError && err.code === code,
    );
    canaryIntact();
  };

  it("refuses ../ that climbs out", async () => {
    await rejects([{ name: "../canary/evil", body: "x" }], "PATH_ESCAPE");
    await rejects([{ name: "ok/../../../evil", body: "x" }], "PATH_ESCAPE");
    await rejects([{ name: "a/.wh..." }], "PATH_ESCAPE");
  });

  it("keeps absolute paths inside the root", async () => {
    await apply(root, [{ name: `${canary}/evil`, body: "x" }]);
    assert.equal(readFileSync(`${root}${canary}/evil`, "utf8"), "x");
    canaryIntact();
  });

  it("resolves a symlinked directory inside the root (a -> /abs, then a/file)", async () => {
    await apply(root, [
      { name: "a", type: "symlink", linkname: canary },
      { name: "a/evil", body: "x" },
      { name: "up", type: "symlink", linkname: "../../../../.." },
      { name: "up/evil2", body: "y" },
    ]);
    assert.equal(readFileSync(`${root}${canary}/evil`, "utf8"), "x");
    assert.equal(readFileSync(`${root}/evil2`, "utf8"), "y");
    canaryIntact();
  });

  it("refuses hard links to paths outside (or through symlinks to outside)", async () => {
    await rejects([{ name: "shadow", type: "link", linkname: "/etc/shadow" }], "LINK_TARGET_MISSING");
    await rejects([{ name: "s", type: "link", linkname: `../${canary}/secret` }], "PATH_ESCAPE");
    await rejects(
      [
        { name: "via", type: "symlink", linkname: canary },
        { name: "h", type: "link", linkname: "via/secret" },
      ],
      "LINK_TARGET_MISSING",
    );
  });

  it("refuses a symlink loop", async () => {
    await rejects(
      [
        { name: "l1", type: "symlink", linkname: "l2" },
        { name: "l2", type: "symlink", linkname: "l1" },
        { name: "l1/x", body: "x" },
      ],
      "SYMLINK_LOOP",
    );
  });

  it("replaces a symlink in the last component instead of following it", async () => {
    symlinkSync(`${canary}/secret`, `${root}/f`);
    symlinkSync(canary, `${root}/d`);
    await apply(root, [
      { name: "f", body: "replaced" },
      { name: "d", type: "dir", mode: 0o777 },
      { name: ".wh.nothing" },
    ]);
    assert.equal(lstatSync(`${root}/f`).isFile(), true);
    assert.equal(lstatSync(`${root}/d`).isDirectory(), true);
    canaryIntact();
  });

  it("survives a layer that swaps a directory for a symlink mid-way (TOCTOU)", async () => {
    await apply(root, [
      { name: "d", type: "dir", mode: 0o777, mtime: 1 },
      { name: "d/f", body: "first" },
      { name: "d", type: "symlink", linkname: canary },
      { name: "d/g", body: "second" },
      { name: "e", type: "dir", mode: 0o777, xattrs: new Map([["user.evil", Buffer.from("1")]]) },
      { name: "e", type: "symlink", linkname: canary },
      { name: "e/h", body: "third" },
    ]);
    assert.equal(readlinkSync(`${root}/d`), canary);
    assert.equal(readFileSync(`${root}${canary}/g`, "utf8"), "second");
    assert.equal(readFileSync(`${root}${canary}/h`, "utf8"), "third");
    canaryIntact();
  });

  it("refuses a truncated gzip, a wrong diff_id, and zstd declared as gzip", async () => {
    const tar = tarOf([{ name: "f", body: "x".repeat(10000) }]);
    const gz = gzipSync(tar);
    await assert.rejects(
      applyLayer(root, stream(gz.subarray(0, gz.length - 20)), { mediaType: MediaType.OciLayerGzip }),
      (e: unknown) => e instanceof LayerError && e.code === "CORRUPT_STREAM",
    );
    await assert.rejects(
      applyLayer(root, stream(gz), { mediaType: MediaType.OciLayerGzip, expectedDiffId: digestOf("other") }),
      (e: unknown) => e instanceof LayerError && e.code === "DIFF_ID_MISMATCH",
    );
    const ok = await applyLayer(root, stream(gz), {
      mediaType: MediaType.OciLayerGzip,
      expectedDiffId: digestOf(tar),
    });
    assert.equal(ok.diffId, digestOf(tar));
    await assert.rejects(
      applyLayer(root, stream(await zstdCompress(tar)), { mediaType: MediaType.OciLayerGzip }),
      (e: unknown) =>
        e instanceof LayerError && e.code === "COMPRESSION_MISMATCH" && /gzip.*zstd/.test(e.message),
    );
    await assert.rejects(
      applyLayer(root, stream(gz), { mediaType: MediaType.OciLayer }),
      (e: unknown) => e instanceof LayerError && e.code === "COMPRESSION_MISMATCH",
    );
    await assert.rejects(
      applyLayer(root, stream(tar.subarray(0, 700)), { mediaType: MediaType.OciLayer }),
      (e: unknown) => e instanceof LayerError && e.code === "INVALID_TAR",
    );
    canaryIntact();
  });

  it("refuses device nodes when rootless, before creating anything", async () => {
    const tar = tarOf([
      { name: "dev", type: "dir" },
      { name: "dev/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666 },
    ]);
    await assert.rejects(
      applyLayer(root, stream(tar), { rootless: true }),
      (e: unknown) =>
        e instanceof LayerError && e.code === "DEVICE_NOT_PERMITTED" && e.message.includes("dev/null"),
    );
    assert.equal(existsSync(`${root}/dev/null`), false);
    canaryIntact();
  });
});
