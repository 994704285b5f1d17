import assert from "node:assert/strict";
import { test } from "node:test";
import { parseTransport as parseRaw, type TransportSpec } from "./parse.js";

/** The spec with references flattened to plain fields, for deepEqual. */
function parseTransport(input: string): unknown {
  const t: TransportSpec = parseRaw(input);
  if (t.kind === "docker" || t.kind === "store") {
    const { registry, repository, tag, digest } = t.ref;
    return { kind: t.kind, ref: { registry, repository, tag, ...(digest ? { digest } : {}) } };
  }
  return t;
}

test("parses skopeo-style transports", () => {
  assert.deepEqual(parseTransport("docker://127.0.0.1:5000/a/b:1"), {
    kind: "docker",
    ref: { registry: "127.0.0.1:5000", repository: "a/b", tag: "1" },
  });
  assert.deepEqual(parseTransport("oci:/tmp/x:latest"), { kind: "oci", dir: "/tmp/x", name: "latest" });
  assert.deepEqual(parseTransport("oci:/tmp/x"), { kind: "oci", dir: "/tmp/x" });
  assert.deepEqual(parseTransport("oci:rel/dir"), { kind: "oci", dir: "rel/dir" });
  assert.deepEqual(parseTransport("oci-archive:/tmp/a.tar"), { kind: "oci-archive", file: "/tmp/a.tar" });
  assert.deepEqual(parseTransport("docker-archive:/tmp/a.tar:busybox:1"), {
    kind: "docker-archive",
    file: "/tmp/a.tar",
    name: "busybox:1",
  });
  assert.deepEqual(parseTransport("busybox"), {
    kind: "store",
    ref: { registry: "docker.io", repository: "library/busybox", tag: "latest" },
  });
  assert.deepEqual(parseTransport("localhost:5000/x:2"), {
    kind: "store",
    ref: { registry: "localhost:5000", repository: "x", tag: "2" },
  });
});

test("refuses unknown transports and empty paths", () => {
  assert.throws(() => parseTransport("ftp://x/y"), /unknown transport "ftp"/);
  assert.throws(() => parseTransport("oci:"), /missing path/);
  assert.throws(() => parseTransport("docker://UPPER/Case"), /INVALID_REFERENCE|invalid|upper/i);
});
