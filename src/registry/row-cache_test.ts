import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import type { ManifestFacts } from "./manifest.js";
import { RegistryMetadata } from "./metadata.js";
import { RowCache } from "./row-cache.js";

const dir = mkdtempSync(join(tmpdir(), "pier-row-cache-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const facts: ManifestFacts = { mediaType: MediaType.OciManifest, blobs: [], children: [] };

test("a tag moved by another connection (another server, gc) is seen from the next turn on", async () => {
  const file = join(dir, "two.db");
  const serving = RegistryMetadata.open(file);
  const other = RegistryMetadata.open(file);
  try {
    const one = digestOf("one");
    const two = digestOf("two");
    other.putManifest("r", one, 10, facts, "latest");
    assert.equal(serving.taggedManifest("r", "latest")?.digest, one);
    assert.equal(serving.cachedManifest("r", one)?.size, 10);
    other.putManifest("r", two, 20, facts, "latest");
    other.deleteManifest("r", one);
    await nextTurn();
    assert.equal(serving.taggedManifest("r", "latest")?.digest, two);
    assert.equal(serving.cachedManifest("r", one), undefined);
  } finally {
    serving.close();
    other.close();
  }
});

test("this connection's own writes are seen at once, within the same turn", () => {
  const meta = RegistryMetadata.open(join(dir, "own.db"));
  try {
    const one = digestOf("own-one");
    const two = digestOf("own-two");
    meta.putManifest("r", one, 1, facts, "t");
    assert.equal(meta.taggedManifest("r", "t")?.digest, one);
    meta.putManifest("r", two, 2, facts, "t");
    assert.equal(meta.taggedManifest("r", "t")?.digest, two);
    assert.equal(meta.deleteTag("r", "t"), true);
    assert.equal(meta.taggedManifest("r", "t"), undefined);
    assert.equal(meta.cachedManifest("r", two)?.size, 2);
    assert.equal(meta.deleteManifest("r", two), true);
    assert.equal(meta.cachedManifest("r", two), undefined);
  } finally {
    meta.close();
  }
});

test("the cache holds at most its bound, dropping the oldest row", () => {
  let version = 0;
  const cache = new RowCache<number>(() => version, 3);
  for (let i = 0; i < 5; i++) cache.set(`k${i}`, i);
  assert.equal(cache.size, 3);
  assert.equal(cache.get("k0"), undefined);
  assert.equal(cache.get("k4"), 4);
  version++;
  // A changed version empties it, at the latest after MAX_CHECK_AGE_MS within one turn.
  const deadline = performance.now() + 1000;
  while (cache.get("k4") !== undefined && performance.now() < deadline);
  assert.equal(cache.size, 0);
});
