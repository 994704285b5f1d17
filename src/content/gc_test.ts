import assert from "node:assert/strict";
import { utimes } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isPierError } from "../errors.js";
import { type Digest, digestOf } from "../oci/digest.js";
import type { Descriptor } from "../oci/types.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { ContentError } from "./error.js";
import { type ChildrenFn, collectGarbage, collectLayoutGarbage, reachableDigests } from "./gc.js";
import { OciLayout } from "./layout.js";
import { LocalContentStore } from "./local-store.js";

const OLD = new Date("2020-01-01T00:00:00Z");

/** A graph of blobs: each name's content is the name; edges say who refers to whom. */
async function graph(
  store: LocalContentStore,
  names: string[],
  age = true,
): Promise<Map<string, Descriptor>> {
  const out = new Map<string, Descriptor>();
  for (const n of names) {
    const info = await store.ingest(n);
    if (age) await utimes(store.blobPath(info.digest), OLD, OLD);
    out.set(n, { mediaType: "application/octet-stream", ...info });
  }
  return out;
}

function childrenOf(nodes: Map<string, Descriptor>, edges: Record<string, string[]>): ChildrenFn {
  const byDigest = new Map<Digest, string>([...nodes].map(([n, d]) => [d.digest, n]));
  // A name without a node stands for a blob the store does not have.
  const absent = (n: string): Descriptor => ({
    mediaType: "application/octet-stream",
    digest: digestOf(n),
    size: n.length,
  });
  return async (d) => (edges[byDigest.get(d.digest) ?? ""] ?? []).map((n) => nodes.get(n) ?? absent(n));
}

async function digests(store: LocalContentStore): Promise<Digest[]> {
  const out: Digest[] = [];
  for await (const b of store.list()) out.push(b.digest);
  return out.sort();
}

describe("garbage collection", () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir("pier-gc-");
  });
  after(async () => {
    await removeTempDir(dir);
  });

  test("keeps what the roots reach, removes the rest, and a dry run removes nothing", async () => {
    const store = await LocalContentStore.open(join(dir, "basic"));
    const nodes = await graph(store, ["index", "m1", "m2", "c1", "l1", "l2", "orphan-m", "orphan-l"]);
    const children = childrenOf(nodes, {
      index: ["m1", "m2"],
      m1: ["c1", "l1"],
      m2: ["c1", "l2", "missing"],
      "orphan-m": ["orphan-l", "l1"],
    });
    const roots = [nodes.get("index")!];
    const before = await digests(store);
    const dry = await collectGarbage(store, roots, children, { dryRun: true });
    const orphans = [nodes.get("orphan-m")!.digest, nodes.get("orphan-l")!.digest].sort();
    assert.deepEqual(dry.removed.map((b) => b.digest).sort(), orphans);
    assert.equal(dry.removedBytes, "orphan-m".length + "orphan-l".length);
    assert.deepEqual(await digests(store), before, "dry run removes nothing");
    const real = await collectGarbage(store, roots, children);
    assert.deepEqual(real.removed.map((b) => b.digest).sort(), orphans);
    assert.equal(real.reachable, 6);
    assert.deepEqual(
      await digests(store),
      before.filter((d) => !orphans.includes(d)),
    );
  });

  test("blobs published after the collection started, or within the grace period, are kept", async () => {
    const store = await LocalContentStore.open(join(dir, "fresh"));
    const old = await graph(store, ["old-orphan"]);
    const fresh = await graph(store, ["fresh-orphan"], false);
    const result = await collectGarbage(store, [], async () => []);
    assert.deepEqual(
      result.removed.map((b) => b.digest),
      [old.get("old-orphan")!.digest],
    );
    assert.equal(result.keptAsNew, 1);
    assert.ok(await store.info(fresh.get("fresh-orphan")!.digest));
    const lastYear = new Date(Date.now() - 300 * 86400_000);
    await utimes(store.blobPath(fresh.get("fresh-orphan")!.digest), lastYear, lastYear);
    const graced = await collectGarbage(store, [], async () => [], { gracePeriodMs: 400 * 86400_000 });
    assert.deepEqual(graced.removed, []);
  });

  test("a blob published while the collection is marking is not swept", async () => {
    const store = await LocalContentStore.open(join(dir, "during"));
    const nodes = await graph(store, ["root", "old-orphan"]);
    let published: Digest | undefined;
    // The children function runs during the mark phase: publish a new, unreferenced blob then,
    // as a concurrent pull would before naming its image.
    const children: ChildrenFn = async () => {
      published = (await store.ingest("pulled meanwhile")).digest;
      return [];
    };
    const result = await collectGarbage(store, [nodes.get("root")!], children);
    assert.deepEqual(
      result.removed.map((b) => b.digest),
      [nodes.get("old-orphan")!.digest],
    );
    assert.ok(published && (await store.info(published)), "the concurrently published blob survives");
    // A writer's partial data lives in the ingest directory and is never a candidate.
    const w = await store.writer("in-flight");
    await w.write(Buffer.from("partial"));
    await collectGarbage(store, [], async () => []);
    assert.equal(w.offset, 7);
    await w.write(Buffer.from("+rest"));
    assert.equal((await w.commit({})).size, 12);
  });

  test("a failing children function aborts the collection before anything is swept", async () => {
    const store = await LocalContentStore.open(join(dir, "abort"));
    const nodes = await graph(store, ["root", "orphan"]);
    const broken: ChildrenFn = async () => {
      throw new ContentError("INVALID_LAYOUT", "malformed manifest");
    };
    await assert.rejects(collectGarbage(store, [nodes.get("root")!], broken), (e) =>
      isPierError(e, "INVALID_LAYOUT"),
    );
    assert.equal((await digests(store)).length, 2);
    const seen = await reachableDigests([nodes.get("root")!], async () => {
      throw new ContentError("NOT_FOUND", "gone");
    });
    assert.deepEqual([...seen], [nodes.get("root")!.digest]);
  });

  test("layout GC takes its roots from index.json under the layout lock", async () => {
    const root = join(dir, "layout");
    const store = await LocalContentStore.open(root);
    const layout = await OciLayout.open(root);
    const nodes = await graph(store, ["tagged", "child", "untagged"]);
    await layout.set("v1", nodes.get("tagged")!);
    const result = await collectLayoutGarbage(store, layout, childrenOf(nodes, { tagged: ["child"] }));
    assert.deepEqual(
      result.removed.map((b) => b.digest),
      [nodes.get("untagged")!.digest],
    );
    const lock = await import("./lock.js");
    const held = await lock.FileLock.acquire(layout.lockPath);
    try {
      await assert.rejects(
        collectLayoutGarbage(store, new OciLayout(root, { timeoutMs: 200 }), async () => []),
        (e) => isPierError(e, "LOCKED"),
      );
    } finally {
      await held.release();
    }
  });
});
