import assert from "node:assert/strict";
import { test } from "node:test";
import { isPierError } from "../errors.js";
import { digestOf } from "../oci/digest.js";
import type { Descriptor, ImageIndex } from "../oci/types.js";
import {
  checkRefName,
  namedEntries,
  REF_NAME_ANNOTATION,
  resolveRef,
  withoutRef,
  withRef,
} from "./index-refs.js";

const d = (n: string): Descriptor => ({
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest: digestOf(n),
  size: 1,
});
const named = (n: string, name: string): Descriptor => ({
  ...d(n),
  annotations: { [REF_NAME_ANNOTATION]: name },
});

test("ref names follow the annotations.md grammar", () => {
  for (const ok of ["latest", "v1.0.0-rc.1", "docker.io/library/busybox:latest", "a--b", "x@sha", "a+b"]) {
    assert.equal(checkRefName(ok), ok);
  }
  for (const bad of ["", "-a", "a/", "/a", "a//b", "../x", "a b", "a:", "ä"]) {
    assert.throws(
      () => checkRefName(bad),
      (e) => isPierError(e, "INVALID_REF_NAME"),
      bad,
    );
  }
});

test("withRef replaces in place, drops duplicates, appends new names; withoutRef removes all", () => {
  const index: ImageIndex = {
    schemaVersion: 2,
    manifests: [named("a", "x"), d("plain"), named("b", "y"), named("c", "x")],
  };
  const next = withRef(index, "x", d("new"));
  assert.deepEqual(
    next.manifests.map((m) => m.digest),
    [digestOf("new"), digestOf("plain"), digestOf("b")],
  );
  assert.equal(resolveRef(next, "x")?.digest, digestOf("new"));
  assert.equal(index.manifests.length, 4, "input not mutated");
  assert.deepEqual(
    namedEntries(withRef(next, "z", d("z"))).map((e) => e.name),
    ["x", "y", "z"],
  );
  assert.equal(resolveRef(index, "x")?.digest, digestOf("c"), "last duplicate wins when reading");
  const { index: removed, removed: was } = withoutRef(index, "x");
  assert.equal(was, true);
  assert.deepEqual(
    removed.manifests.map((m) => m.digest),
    [digestOf("plain"), digestOf("b")],
  );
  assert.equal(withoutRef(index, "nope").removed, false);
});
