import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Annotation, isValidRefName, RESERVED_ANNOTATION_PREFIX } from "./annotations.js";

describe("Annotation", () => {
  it("spells every key under the reserved prefix, once", () => {
    const keys = Object.values(Annotation);
    assert.equal(new Set(keys).size, keys.length);
    for (const k of keys) assert.ok(k.startsWith(RESERVED_ANNOTATION_PREFIX), k);
    assert.equal(Annotation.RefName, "org.opencontainers.image.ref.name");
    assert.equal(Annotation.StopSignal, "org.opencontainers.image.stopSignal");
  });

  it("isValidRefName follows the grammar of annotations.md", () => {
    for (const ok of [
      "latest",
      "v1.0",
      "1.0-rc.1",
      "a--b",
      "docker.io/library/busybox:1.36",
      "x@sha256:abc",
      "A+b",
    ]) {
      assert.equal(isValidRefName(ok), true, ok);
    }
    for (const bad of ["", "-a", "a-", "a/", "/a", "a//b", "a b", "a---b", "a..b", "ü"]) {
      assert.equal(isValidRefName(bad), false, bad);
    }
  });
});
