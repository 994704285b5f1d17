import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LocalContentStore } from "../content/local-store.js";
import { digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import {
  pushBlob,
  pushImage,
  putManifest,
  startTestRegistry,
  type TestRegistry,
} from "../testing/registry.js";
import { registryGc, unreachableManifests } from "./gc.js";

let t: TestRegistry;
let store: LocalContentStore;
before(async () => {
  t = await startTestRegistry();
  store = await LocalContentStore.open(join(t.root, "content"));
});
after(() => t.stop());

const head = async (repo: string, digest: string) =>
  (await fetch(`${t.url}/v2/${repo}/blobs/${digest}`, { method: "HEAD" })).status;

test("unreachableManifests keeps tagged manifests, their children and their referrers", () => {
  const refs: Record<string, string[]> = { idx: ["c1", "c2"] };
  const doomed = unreachableManifests(
    [
      { digest: "idx", subject: null },
      { digest: "c1", subject: null },
      { digest: "c2", subject: null },
      { digest: "sig", subject: "c1" },
      { digest: "sigsig", subject: "sig" },
      { digest: "lost", subject: null },
      { digest: "lostsig", subject: "lost" },
    ],
    ["idx"],
    (d) => refs[d] ?? [],
  );
  assert.deepEqual(doomed.sort(), ["lost", "lostsig"]);
});

test("gc sweeps unreferenced blobs, keeps referenced ones, and a dry run deletes nothing", async () => {
  const kept = await pushImage(t.url, "gc/a", "v1", ["gc-shared", "gc-a-only"]);
  const gone = await pushImage(t.url, "gc/b", "v1", ["gc-shared", "gc-b-only"]);
  const orphan = await pushBlob(t.url, "gc/a", "gc-orphan");
  assert.equal((await fetch(`${t.url}/v2/gc/b/manifests/${gone.digest}`, { method: "DELETE" })).status, 202);
  const dry = await registryGc({ root: t.root, dryRun: true, graceSeconds: 0, store });
  assert.ok(dry.blobsDeleted.includes(orphan as never));
  assert.ok(dry.blobsDeleted.includes(digestOf("gc-b-only")));
  assert.equal(await head("gc/a", orphan), 200);
  const real = await registryGc({ root: t.root, graceSeconds: 0, store });
  assert.deepEqual([...real.blobsDeleted].sort(), [...dry.blobsDeleted].sort());
  assert.ok(real.bytesFreed > 0);
  assert.equal(await head("gc/a", orphan), 404);
  assert.equal(await head("gc/b", digestOf("gc-b-only")), 404);
  assert.ok(!existsSync(store.blobPath(digestOf("gc-b-only"))));
  assert.ok(!real.blobsDeleted.includes(digestOf("gc-shared")));
  for (const d of [digestOf("gc-shared"), digestOf("gc-a-only")]) assert.equal(await head("gc/a", d), 200);
  const m = await fetch(`${t.url}/v2/gc/a/manifests/v1`);
  assert.equal(m.headers.get("docker-content-digest"), kept.digest);
  await m.arrayBuffer();
});

test("gc while a push runs loses nothing the push will reference", async () => {
  // A layer uploaded, its manifest not pushed yet; and a chunked upload still open.
  const layer = await pushBlob(t.url, "gc/inflight", "inflight-layer");
  const cfg = await pushBlob(t.url, "gc/inflight", "{}");
  const start = await fetch(`${t.url}/v2/gc/inflight/blobs/uploads/`, { method: "POST" });
  const loc = start.headers.get("location")!;
  await (await fetch(`${t.url}${loc}`, { method: "PATCH", body: "half-" })).arrayBuffer();
  const report = await registryGc({ root: t.root, graceSeconds: 600, store });
  assert.ok(!report.blobsDeleted.includes(layer as never));
  const done = await fetch(`${t.url}${loc}?digest=${digestOf("half-done")}`, { method: "PUT", body: "done" });
  assert.equal(done.status, 201);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: cfg, size: 2 },
    layers: [
      { mediaType: MediaType.OciLayerGzip, digest: layer, size: 14 },
      { mediaType: MediaType.OciLayerGzip, digest: digestOf("half-done"), size: 9 },
    ],
  });
  assert.equal((await putManifest(t.url, "gc/inflight", "v1", manifest, MediaType.OciManifest)).status, 201);
  await registryGc({ root: t.root, graceSeconds: 0, store });
  assert.equal(await head("gc/inflight", layer), 200);
  assert.equal(await head("gc/inflight", digestOf("half-done")), 200);
});

test("gc --untagged deletes manifests no tag reaches, keeping index children", async () => {
  const a = await pushImage(t.url, "gc/untagged", "child-a", []);
  const loose = await pushImage(t.url, "gc/untagged", "loose", ["loose-layer"]);
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [{ mediaType: MediaType.OciManifest, digest: a.digest, size: a.body.length }],
  });
  assert.equal((await putManifest(t.url, "gc/untagged", "idx", index, MediaType.OciIndex)).status, 201);
  for (const tag of ["child-a", "loose"]) {
    assert.equal((await fetch(`${t.url}/v2/gc/untagged/manifests/${tag}`, { method: "DELETE" })).status, 202);
  }
  // Read once before the collection: the server's row cache must not keep serving it after.
  assert.equal(
    (await fetch(`${t.url}/v2/gc/untagged/manifests/${loose.digest}`, { method: "HEAD" })).status,
    200,
  );
  const report = await registryGc({ root: t.root, untagged: true, graceSeconds: 0, store });
  assert.deepEqual(report.manifestsDeleted, [{ repo: "gc/untagged", digest: loose.digest }]);
  assert.equal(
    (await fetch(`${t.url}/v2/gc/untagged/manifests/${a.digest}`, { method: "HEAD" })).status,
    200,
  );
  assert.equal(
    (await fetch(`${t.url}/v2/gc/untagged/manifests/${loose.digest}`, { method: "HEAD" })).status,
    404,
  );
  assert.equal(await head("gc/untagged", digestOf("loose-layer")), 404);
});

test("gc cancels abandoned upload sessions and deletes their data", async () => {
  const start = await fetch(`${t.url}/v2/gc/abandoned/blobs/uploads/`, { method: "POST" });
  const loc = start.headers.get("location")!;
  await (await fetch(`${t.url}${loc}`, { method: "PATCH", body: "partial" })).arrayBuffer();
  const kept = await registryGc({ root: t.root, store });
  assert.deepEqual(kept.uploadsCancelled, []);
  assert.equal((await fetch(`${t.url}${loc}`)).status, 204);
  await new Promise((r) => setTimeout(r, 5));
  const report = await registryGc({ root: t.root, uploadMaxAgeSeconds: 0, store });
  assert.equal(report.uploadsCancelled.length, 1);
  const gone = await fetch(`${t.url}${loc}`);
  assert.equal(gone.status, 404);
  await gone.arrayBuffer();
});
