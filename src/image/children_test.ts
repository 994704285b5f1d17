import assert from "node:assert/strict";
import { utimes } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { collectLayoutGarbage, reachableDigests } from "../content/gc.js";
import { OciLayout } from "../content/layout.js";
import { LocalContentStore } from "../content/local-store.js";
import { isPierError } from "../errors.js";
import { MediaType } from "../oci/media-types.js";
import type { Descriptor, ImageIndex } from "../oci/types.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { writeTinyImage } from "../testing/tiny-image.js";
import { imageChildren } from "./children.js";

describe("imageChildren", () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir("pier-children-");
  });
  after(async () => {
    await removeTempDir(dir);
  });

  test("walks index -> manifest -> config + layers, and a referrer's subject", async () => {
    const store = await LocalContentStore.open(join(dir, "walk"));
    const image = await writeTinyImage(store);
    const indexDoc: ImageIndex = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [image.manifest],
    };
    const index: Descriptor = {
      mediaType: MediaType.OciIndex,
      ...(await store.ingest(JSON.stringify(indexDoc))),
    };
    const children = imageChildren(store);
    assert.deepEqual(await children(index), [image.manifest]);
    assert.deepEqual(await children(image.manifest), [image.config, ...image.layers]);
    assert.deepEqual(await children(image.config), []);
    const referrerDoc = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: "application/vnd.example.sbom",
      config: { mediaType: MediaType.OciEmpty, digest: (await store.ingest("{}")).digest, size: 2 },
      layers: [],
      subject: image.manifest,
    };
    const referrer: Descriptor = {
      mediaType: MediaType.OciManifest,
      ...(await store.ingest(JSON.stringify(referrerDoc))),
    };
    assert.deepEqual((await children(referrer)).at(-1), image.manifest);
    const all = await reachableDigests([index, referrer], children);
    assert.equal(all.size, 2 + 1 + image.layers.length + 2);
  });

  test("a malformed manifest is an error naming the problem, a missing one NOT_FOUND", async () => {
    const store = await LocalContentStore.open(join(dir, "bad"));
    const bad = await store.ingest(JSON.stringify({ schemaVersion: 2, config: "nope", layers: [] }));
    await assert.rejects(
      imageChildren(store)({ mediaType: MediaType.OciManifest, ...bad }),
      /manifest\.config/,
    );
    await assert.rejects(
      imageChildren(store)({ mediaType: MediaType.OciManifest, digest: `sha256:${"0".repeat(64)}`, size: 1 }),
      (e) => isPierError(e, "NOT_FOUND"),
    );
  });

  test("layout GC with imageChildren keeps tagged images whole and drops untagged ones", async () => {
    const root = join(dir, "gc");
    const store = await LocalContentStore.open(root);
    const layout = await OciLayout.open(root);
    const kept = await writeTinyImage(store, [{ a: "kept" }]);
    const dropped = await writeTinyImage(store, [{ b: "dropped" }]);
    await layout.set("kept", kept.manifest);
    const old = new Date("2020-01-01T00:00:00Z");
    for await (const b of store.list()) await utimes(store.blobPath(b.digest), old, old);
    const result = await collectLayoutGarbage(store, layout, imageChildren(store));
    assert.deepEqual(
      result.removed.map((b) => b.digest).sort(),
      [dropped.manifest.digest, dropped.config.digest, ...dropped.layers.map((l) => l.digest)].sort(),
    );
    for (const d of [kept.manifest, kept.config, ...kept.layers]) assert.ok(await store.info(d.digest));
  });
});
