import assert from "node:assert/strict";
import { test } from "node:test";
import { MediaType } from "../oci/media-types.js";
import { RegistryError } from "./errors.js";
import { inspectManifest } from "./manifest.js";

const d = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (mediaType: string, c: string, extra: object = {}) => ({
  mediaType,
  digest: d(c),
  size: 1,
  ...extra,
});
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const invalid = (e: unknown) => e instanceof RegistryError && e.code === "MANIFEST_INVALID";

test("inspectManifest extracts blobs, subject and artifact type of an image manifest", () => {
  const facts = inspectManifest(
    json({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: desc("application/vnd.example.sbom", "a"),
      layers: [desc(MediaType.OciLayerGzip, "b"), desc(MediaType.OciLayerGzip, "c", { urls: ["https://x"] })],
      subject: desc(MediaType.OciManifest, "d"),
      annotations: { k: "v" },
    }),
    undefined,
  );
  assert.deepEqual(facts, {
    mediaType: MediaType.OciManifest,
    blobs: [d("a"), d("b")],
    children: [],
    subject: d("d"),
    artifactType: "application/vnd.example.sbom",
    annotations: { k: "v" },
  });
});

test("inspectManifest lists an index's children and takes its type from Content-Type", () => {
  const facts = inspectManifest(
    json({ schemaVersion: 2, manifests: [desc(MediaType.DockerManifest, "a")] }),
    `${MediaType.DockerManifestList}; charset=utf-8`,
  );
  assert.equal(facts.mediaType, MediaType.DockerManifestList);
  assert.deepEqual(facts.children, [d("a")]);
  assert.equal(facts.artifactType, undefined);
});

test("inspectManifest refuses malformed manifests naming the problem", () => {
  const m = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: desc(MediaType.OciConfig, "a"),
    layers: [],
  };
  assert.throws(() => inspectManifest(Buffer.from("{"), undefined), invalid);
  assert.throws(() => inspectManifest(json([]), undefined), invalid);
  assert.throws(() => inspectManifest(json({ ...m, schemaVersion: 1 }), undefined), invalid);
  assert.throws(() => inspectManifest(json({ ...m, layers: "x" }), undefined), invalid);
  assert.throws(
    () => inspectManifest(json({ ...m, config: { ...m.config, digest: "sha256:1" } }), undefined),
    /config.digest/,
  );
  assert.throws(
    () => inspectManifest(json({ ...m, config: { ...m.config, size: -1 } }), undefined),
    /config.size/,
  );
  assert.throws(() => inspectManifest(json(m), MediaType.OciIndex), invalid);
  assert.throws(() => inspectManifest(json({ ...m, mediaType: "text/plain" }), undefined), invalid);
  assert.throws(() => inspectManifest(json({ ...m, annotations: { a: 1 } }), undefined), invalid);
});
