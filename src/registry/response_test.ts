import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MediaType } from "../oci/media-types.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { pushBlob, pushImage } from "../testing/registry.js";
import { defaultRegistryConfig } from "./config.js";
import { type RunningRegistry, startRegistry } from "./server.js";

// One registry with its access log on, so that each answer's bookkeeping can be checked.
let reg: RunningRegistry;
let root: string;
const lines: string[] = [];
before(async () => {
  root = await makeTempDir("pier-registry-response-test-");
  const config = defaultRegistryConfig();
  config.addr = "127.0.0.1:0";
  config.root = root;
  config.log.access = true;
  reg = await startRegistry(config, { log: (line) => lines.push(line) });
});
after(async () => {
  await reg.close();
  await removeTempDir(root);
});

/** The access log's request lines (parsed), oldest first. */
function accessLog(): { id: string; method: string; path: string; route: string; status: number }[] {
  return lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "request");
}

/** Polls until `check` holds (the log line is written once the answer finished, after the client read it). */
async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("every answer carries the API version header and a request id: success, error, HEAD, stream, range, upload, the implicit header", async () => {
  const blob = await pushBlob(reg.url, "hdr/a", "0123456789");
  await pushImage(reg.url, "hdr/a", "v1", ["layer"]);
  const u = reg.url;
  const cases: [string, RequestInit, number][] = [
    [`${u}/v2/`, {}, 200],
    [`${u}/v2/hdr/a/manifests/v1`, { headers: { Accept: MediaType.OciManifest } }, 200],
    [`${u}/v2/hdr/a/manifests/v1`, { method: "HEAD" }, 200],
    [`${u}/v2/hdr/a/manifests/nope`, {}, 404],
    [`${u}/v2/hdr/missing/manifests/v1`, {}, 404],
    [`${u}/v2/hdr/a/blobs/${blob}`, {}, 200],
    [`${u}/v2/hdr/a/blobs/${blob}`, { method: "HEAD" }, 200],
    [`${u}/v2/hdr/a/blobs/${blob}`, { headers: { Range: "bytes=3-4" } }, 206],
    [`${u}/v2/hdr/a/blobs/${blob}`, { headers: { Range: "bytes=99-" } }, 416],
    [`${u}/v2/hdr/a/blobs/uploads/`, { method: "POST" }, 202],
    [`${u}/v2/hdr/a/tags/list`, {}, 200],
    [`${u}/v2/hdr/a/manifests/v1`, { method: "POST" }, 405],
    [`${u}/v2/Bad_Name/manifests/v1`, {}, 400],
    [`${u}/nothing/here`, {}, 404],
    [`${u}/healthz`, {}, 200],
    [`${u}/metrics`, {}, 200],
  ];
  const ids = new Set<string>();
  for (const [url, init, status] of cases) {
    const res = await fetch(url, init);
    await res.arrayBuffer();
    const what = `${init.method ?? "GET"} ${url} ${JSON.stringify(init.headers ?? {})}`;
    assert.equal(res.status, status, what);
    assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0", what);
    const id = res.headers.get("x-request-id");
    assert.match(id ?? "", /^[0-9a-f]{8}-\d+$/, what);
    ids.add(id!);
  }
  assert.equal(ids.size, cases.length, "every request has its own id");
  // A client's well-formed id is echoed (and logged), a malformed one is replaced.
  const echoed = await fetch(`${u}/v2/hdr/a/manifests/v1`, { headers: { "X-Request-Id": "trace.42-a" } });
  await echoed.arrayBuffer();
  assert.equal(echoed.headers.get("x-request-id"), "trace.42-a");
  const replaced = await fetch(`${u}/v2/`, { headers: { "X-Request-Id": "no spaces allowed" } });
  await replaced.arrayBuffer();
  assert.match(replaced.headers.get("x-request-id") ?? "", /^[0-9a-f]{8}-\d+$/);
  await eventually(() => accessLog().some((l) => l.id === "trace.42-a"), "the echoed id in the access log");
  const line = accessLog().find((l) => l.id === "trace.42-a")!;
  assert.deepEqual(
    { method: line.method, path: line.path, route: line.route, status: line.status },
    { method: "GET", path: "/v2/hdr/a/manifests/v1", route: "manifest", status: 200 },
  );
});

test("metrics count each answer once it finished, by route and status, and the body bytes sent (none for a HEAD)", async () => {
  // Metrics on their own listener, so that reading them adds nothing to what is counted.
  const dir = await makeTempDir("pier-registry-response-test-");
  const config = defaultRegistryConfig();
  config.addr = "127.0.0.1:0";
  config.root = dir;
  config.log.access = false;
  config.metrics.addr = "127.0.0.1:0";
  const own = await startRegistry(config, { log: () => {} });
  try {
    const { body } = await pushImage(own.url, "met/a", "v1", ["layer-x"]);
    const metrics = async () => {
      const text = await (await fetch(`${own.metricsUrl}/metrics`)).text();
      const count = (method: string, status: number) =>
        Number(
          new RegExp(
            `pier_registry_http_requests_total\\{method="${method}",route="manifest",status="${status}"\\} (\\d+)`,
          ).exec(text)?.[1] ?? 0,
        );
      return {
        get: count("GET", 200),
        head: count("HEAD", 200),
        unknown: count("GET", 404),
        bytes: Number(/pier_registry_http_response_bytes_total (\d+)/.exec(text)?.[1]),
      };
    };
    const before = await metrics();
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${own.url}/v2/met/a/manifests/v1`, {
        headers: { Accept: MediaType.OciManifest },
      });
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), body);
    }
    const head = await fetch(`${own.url}/v2/met/a/manifests/v1`, { method: "HEAD" });
    assert.equal(head.headers.get("content-length"), String(body.length));
    const missing = await fetch(`${own.url}/v2/met/a/manifests/v2`);
    const errorBytes = (await missing.arrayBuffer()).byteLength;
    assert.equal(missing.status, 404);
    // Counted once the answer went out, which may be just after the client read it.
    let now = await metrics();
    const deadline = Date.now() + 5000;
    while (now.unknown === before.unknown && Date.now() < deadline) now = await metrics();
    assert.deepEqual(
      { get: now.get - before.get, head: now.head - before.head, unknown: now.unknown - before.unknown },
      { get: 3, head: 1, unknown: 1 },
    );
    assert.equal(now.bytes - before.bytes, 3 * body.length + errorBytes);
  } finally {
    await own.close();
    await removeTempDir(dir);
  }
});
