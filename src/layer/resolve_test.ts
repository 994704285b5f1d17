import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { describe, it } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { LayerError } from "./error.js";
import { type Lookup, MAX_SYMLINKS, normalizeEntryPath, resolveInRoot } from "./resolve.js";

/** A fake filesystem under /r: paths -> symlink targets, or null for a plain file/dir. */
function fakeFs(entries: Record<string, string | null>): Lookup {
  return (p) => {
    if (!(p in entries)) return { kind: "missing" };
    const t = entries[p];
    return t === null || t === undefined ? { kind: "other" } : { kind: "symlink", target: t };
  };
}

describe("normalizeEntryPath", () => {
  it("cleans names with the root as /", () => {
    assert.equal(normalizeEntryPath("./a/b/"), "a/b");
    assert.equal(normalizeEntryPath("/etc/passwd"), "etc/passwd");
    assert.equal(normalizeEntryPath("a//./b/../c"), "a/c");
    assert.equal(normalizeEntryPath("./"), "");
    assert.equal(normalizeEntryPath("a/.."), "");
  });
  it("gives every name the component-by-component result (clean names are returned as they are)", () => {
    /** The definition: drop empty and "." components, ".." pops one, a NUL or a climb is refused. */
    const reference = (name: string): string | "escape" => {
      const out: string[] = [];
      for (const c of name.split("/")) {
        if (c === "" || c === ".") continue;
        if (c === "..") {
          if (out.length === 0) return "escape";
          out.pop();
        } else if (c.includes("\0")) return "escape";
        else out.push(c);
      }
      return out.join("/");
    };
    const parts = ["", ".", "..", "...", ".a", "a.", "a..b", "b", "x\0y", "é"];
    let next = 1;
    const random = () => {
      next = (next * 1103515245 + 12345) % 2 ** 31;
      return next;
    };
    for (let i = 0; i < 20_000; i++) {
      const n = 1 + (random() % 5);
      const name = Array.from({ length: n }, () => parts[random() % parts.length]).join("/");
      const want = reference(name);
      if (want === "escape")
        assert.throws(
          () => normalizeEntryPath(name),
          (e: unknown) => e instanceof LayerError && e.code === "PATH_ESCAPE",
          name,
        );
      else assert.equal(normalizeEntryPath(name), want, JSON.stringify(name));
    }
  });
  it("refuses .. above the root, naming the entry", () => {
    for (const bad of ["..", "../x", "a/../../x", "/../etc"]) {
      assert.throws(
        () => normalizeEntryPath(bad),
        (e: unknown) =>
          e instanceof LayerError && e.code === "PATH_ESCAPE" && e.message.includes(JSON.stringify(bad)),
      );
    }
  });
});

describe("resolveInRoot (pure, fake filesystem)", () => {
  const lookup = fakeFs({
    "/r/etc": null,
    "/r/a": "/etc",
    "/r/up": "../../..",
    "/r/rel": "etc",
    "/r/chain": "a",
    "/r/l1": "l2",
    "/r/l2": "l1",
    "/r/self": "self",
    "/r/etc/link": "../../../etc/shadow",
  });
  const r = (p: string, followFinal = false) => resolveInRoot("/r", p, { lookup, followFinal });

  it("follows absolute symlinks relative to the root", () => {
    assert.equal(r("a/passwd"), "/r/etc/passwd");
    assert.equal(r("chain/passwd"), "/r/etc/passwd");
  });
  it("clamps .. at the root, in names and in link targets", () => {
    assert.equal(r("up/x"), "/r/x");
    assert.equal(r("../../x"), "/r/x");
    assert.equal(r("etc/link", true), "/r/etc/shadow");
  });
  it("does not follow the last component unless asked", () => {
    assert.equal(r("a"), "/r/a");
    assert.equal(r("a", true), "/r/etc");
    assert.equal(r("rel/"), "/r/rel");
  });
  it("appends missing components as they are, and looks again after ..", () => {
    assert.equal(r("missing/x/y"), "/r/missing/x/y");
    assert.equal(r("missing/../a/passwd"), "/r/etc/passwd");
  });
  it("refuses symlink loops", () => {
    for (const p of ["l1/x", "self/x"]) {
      assert.throws(
        () => r(p),
        (e: unknown) => e instanceof LayerError && e.code === "SYMLINK_LOOP",
      );
    }
  });
  it("gives up after MAX_SYMLINKS links", () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < MAX_SYMLINKS + 1; i++) many[`/r/s${i}`] = `s${i + 1}`;
    many[`/r/s${MAX_SYMLINKS + 1}`] = "etc";
    assert.throws(
      () => resolveInRoot("/r", "s0/x", { lookup: fakeFs(many) }),
      (e: unknown) => e instanceof LayerError && e.code === "SYMLINK_LOOP",
    );
  });
});

describe("resolveInRoot (real filesystem)", () => {
  it("never leaves the root", async () => {
    const root = await makeTempDir("pier-layer-resolve-");
    try {
      mkdirSync(`${root}/etc`);
      writeFileSync(`${root}/etc/passwd`, "inside");
      symlinkSync("/etc", `${root}/a`);
      symlinkSync("../../../../../../", `${root}/b`);
      assert.equal(resolveInRoot(root, "a/passwd"), `${root}/etc/passwd`);
      assert.equal(resolveInRoot(root, "b/etc/passwd"), `${root}/etc/passwd`);
      assert.equal(resolveInRoot(root, "/b/a/../a/passwd"), `${root}/etc/passwd`);
      assert.equal(resolveInRoot(`${root}/`, ""), root);
    } finally {
      await removeTempDir(root);
    }
  });
});
