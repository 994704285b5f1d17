import assert from "node:assert/strict";
import { test } from "node:test";
import { isPierError } from "../../errors.js";
import { digestFromArchivePath, linkTarget, normalizeArchivePath, resolveLinks } from "./archive-path.js";

const HEX = "a".repeat(64);

test("archive paths are normalised and may not climb out", () => {
  assert.equal(normalizeArchivePath("./blobs//sha256/x"), "blobs/sha256/x");
  assert.equal(normalizeArchivePath("/manifest.json"), "manifest.json");
  assert.throws(
    () => normalizeArchivePath("a/../../x"),
    (e) => isPierError(e, "INVALID_ARCHIVE"),
  );
});

test("link targets resolve inside the archive", () => {
  assert.equal(linkTarget("abc/layer.tar", `../${HEX}.tar`, false), `${HEX}.tar`);
  assert.equal(linkTarget("abc/layer.tar", "blobs/sha256/x", true), "blobs/sha256/x");
  assert.throws(() => linkTarget("abc/layer.tar", "../../etc/passwd", false), /outside the archive/);
  assert.throws(() => linkTarget("abc/layer.tar", "/etc/passwd", false), /absolute target/);
  const links = new Map([
    ["a", "b"],
    ["b", "c"],
  ]);
  assert.equal(resolveLinks("./a", links), "c");
  assert.throws(
    () =>
      resolveLinks(
        "x",
        new Map([
          ["x", "y"],
          ["y", "x"],
        ]),
      ),
    /too many levels/,
  );
});

test("digests are taken only from names that carry them", () => {
  assert.equal(digestFromArchivePath(`blobs/sha256/${HEX}`), `sha256:${HEX}`);
  assert.equal(digestFromArchivePath(`${HEX}.json`), `sha256:${HEX}`);
  assert.equal(digestFromArchivePath(`${HEX}.tar`), undefined);
  assert.equal(digestFromArchivePath("blobs/sha256/short"), undefined);
  assert.equal(digestFromArchivePath(`blobs/md5/${HEX}`), undefined);
});
