import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRoute } from "./routes.js";

test("parseRoute maps every endpoint of the spec's table", () => {
  assert.deepEqual(parseRoute("/v2/"), { kind: "base" });
  assert.deepEqual(parseRoute("/v2"), { kind: "base" });
  assert.deepEqual(parseRoute("/v2/_catalog"), { kind: "catalog" });
  assert.deepEqual(parseRoute("/v2/a/b/tags/list"), { kind: "tags", name: "a/b" });
  assert.deepEqual(parseRoute("/v2/a/manifests/latest"), {
    kind: "manifest",
    name: "a",
    reference: "latest",
  });
  assert.deepEqual(parseRoute("/v2/a/b/c/blobs/sha256:x"), {
    kind: "blob",
    name: "a/b/c",
    digest: "sha256:x",
  });
  assert.deepEqual(parseRoute("/v2/a/blobs/uploads/"), { kind: "uploadStart", name: "a" });
  assert.deepEqual(parseRoute("/v2/a/blobs/uploads"), { kind: "uploadStart", name: "a" });
  assert.deepEqual(parseRoute("/v2/a/blobs/uploads/u-1"), { kind: "upload", name: "a", id: "u-1" });
  assert.deepEqual(parseRoute("/v2/a/referrers/sha256:x"), {
    kind: "referrers",
    name: "a",
    digest: "sha256:x",
  });
});

test("parseRoute matches on the tail, so names may contain endpoint words", () => {
  assert.deepEqual(parseRoute("/v2/x/blobs/blobs/uploads/"), { kind: "uploadStart", name: "x/blobs" });
  assert.deepEqual(parseRoute("/v2/manifests/manifests/t"), {
    kind: "manifest",
    name: "manifests",
    reference: "t",
  });
});

test("parseRoute decodes percent-encoded segments and refuses encoded slashes", () => {
  assert.deepEqual(parseRoute("/v2/a/blobs/sha256%3Aab"), { kind: "blob", name: "a", digest: "sha256:ab" });
  assert.deepEqual(parseRoute("/v2/..%2Fx/manifests/t"), { kind: "notFound" });
  assert.deepEqual(parseRoute("/v2/a/manifests/%E0%A4%A"), { kind: "notFound" });
});

test("parseRoute leaves unknown paths unrouted", () => {
  for (const p of ["/", "/v1/", "/v2x", "/v2/a", "/v2/a/manifests/", "/v2/a/unknown/x"]) {
    assert.deepEqual(parseRoute(p), { kind: "notFound" }, p);
  }
});
