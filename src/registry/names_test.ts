import assert from "node:assert/strict";
import { test } from "node:test";
import { isValidRepositoryName, isValidTag } from "../oci/reference.js";
import { RegistryError } from "./errors.js";
import { checkRepositoryName, parseReference, requestDigest } from "./names.js";

test("repository names follow the spec grammar", () => {
  for (const ok of ["a", "library/busybox", "a.b/c_d/e__f/g-h--i", "x0/y1"])
    assert.ok(isValidRepositoryName(ok), ok);
  for (const bad of [
    "",
    "../x",
    "A",
    "Upper/case",
    "a//b",
    "/a",
    "a/",
    "a..b",
    "a___b",
    "-a",
    "a-",
    `${"a".repeat(256)}`,
  ]) {
    assert.ok(!isValidRepositoryName(bad), bad);
  }
  assert.throws(
    () => checkRepositoryName("../x"),
    (e: unknown) => e instanceof RegistryError && e.code === "NAME_INVALID" && e.status === 400,
  );
});

test("tags and references", () => {
  assert.ok(isValidTag("v1.0_rc-1"));
  assert.ok(!isValidTag(".hidden"));
  assert.ok(!isValidTag("a".repeat(129)));
  assert.deepEqual(parseReference("latest", "MANIFEST_UNKNOWN"), { kind: "tag", tag: "latest" });
  const d = `sha256:${"a".repeat(64)}`;
  assert.deepEqual(parseReference(d, "MANIFEST_UNKNOWN"), { kind: "digest", digest: d });
  assert.throws(
    () => parseReference("-bad", "MANIFEST_INVALID"),
    (e: unknown) => (e as RegistryError).code === "MANIFEST_INVALID",
  );
  assert.throws(
    () => parseReference("sha256:zz", "MANIFEST_INVALID"),
    (e: unknown) => (e as RegistryError).code === "DIGEST_INVALID",
  );
});

test("requestDigest answers unknown algorithms and malformed digests with DIGEST_INVALID", () => {
  for (const bad of [null, "", "sha256:abc", `md5:${"a".repeat(32)}`, `sha256:${"A".repeat(64)}`]) {
    assert.throws(
      () => requestDigest(bad, "digest"),
      (e: unknown) => (e as RegistryError).code === "DIGEST_INVALID",
    );
  }
});
