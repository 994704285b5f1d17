import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type BuildFixture, buildFixture, cachedSteps } from "../testing/build.js";
import { buildCacheSize, pruneBuildCache } from "./prune.js";

let fx: BuildFixture;
before(async () => {
  fx = await buildFixture();
});
after(async () => {
  await fx?.close();
});

const list = async (dir: string) =>
  (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith("empty"));

describe("build cache collection (builder prune)", () => {
  it("default: unpacked layers go, records stay and still hit; --all: records and cache mounts go", async () => {
    const buildRoot = join(fx.work, "store", "build");
    const df = `FROM ${fx.busybox}\nCOPY f /f\nRUN --mount=type=cache,target=/c echo x > /c/x && cp /f /g\n`;
    const first = await fx.build(df, { f: "data" });
    assert.ok((await list(join(buildRoot, "layers"))).length >= 2);
    const size = await buildCacheSize(fx.store, buildRoot);
    assert.ok(size > 0);
    // until in the past: nothing is that old.
    const none = await pruneBuildCache(fx.store, buildRoot, { until: new Date(Date.now() - 3600_000) });
    assert.deepEqual(none, { deleted: [], reclaimed: 0 });
    const dangling = await pruneBuildCache(fx.store, buildRoot);
    assert.ok(dangling.deleted.length > 0 && dangling.deleted.every((id) => id.startsWith("layer:")));
    assert.ok(dangling.reclaimed > 0);
    assert.deepEqual(await list(join(buildRoot, "layers")), []);
    // The records and blobs remain: a rebuild hits, and a later step re-makes the layers it stacks on.
    assert.equal(cachedSteps((await fx.rebuild(first.context, df)).events), 2);
    const after1 = await fx.rebuild(first.context, `${df}RUN cat /g > /h\n`);
    assert.equal(cachedSteps(after1.events), 2);
    // --keep-storage: the oldest go until what is left fits.
    const kept = await pruneBuildCache(fx.store, buildRoot, {
      keepStorage: 0,
      all: true,
      until: new Date(0),
    });
    assert.deepEqual(kept.deleted.length > 0, true, "keep-storage 0 removes everything removable");
    const all = await pruneBuildCache(fx.store, buildRoot, { all: true });
    assert.deepEqual(all.deleted, []);
    assert.deepEqual(await list(join(buildRoot, "cache")), []);
    assert.deepEqual(await list(join(buildRoot, "cache-mounts")), []);
    assert.equal(cachedSteps((await fx.rebuild(first.context, df)).events), 0);
  });
});
