import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  chmodSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { BuildError } from "./error.js";
import { FileHashCache, RACY_MARGIN_NS } from "./hash-cache.js";
import { type DigestEntry, digestEntries, hashFile } from "./tree-digest.js";

let dir: string;
before(async () => {
  dir = await makeTempDir("pier-hash-cache-");
});
after(async () => {
  await removeTempDir(dir);
});

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const nowNs = () => BigInt(Date.now()) * 1_000_000n;
/** A start time after which every file here counts as old enough to record. */
const later = () => nowNs() + 10n * RACY_MARGIN_NS;
let n = 0;
/** A fresh context directory with `files`, and its cache file's path. */
function context(files: Record<string, string>): { root: string; cache: string; entries: DigestEntry[] } {
  const root = join(dir, `ctx-${++n}`);
  mkdirSync(root);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(root, name), content);
  const entries = Object.keys(files)
    .sort()
    .map((name) => ({ host: join(root, name), rel: name, cacheName: name }));
  return { root, cache: join(dir, `cache-${n}.json`), entries };
}

/** Polls `cond` until it holds or `ms` pass. */
async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the context's stat-keyed hash cache", () => {
  it("uses a recorded digest while the stat is unchanged, and reads a touched file again", () => {
    const c = context({ "a.txt": "one", "b.txt": "two" });
    const first = new FileHashCache(c.cache, later());
    const d1 = digestEntries(c.entries, first);
    first.save();
    assert.deepEqual(d1.files, [sha("one"), sha("two")]);
    // The cache is trusted while the stat matches: a forged digest in it shows it was not read.
    const saved = JSON.parse(readFileSync(c.cache, "utf8")) as { files: Record<string, [string, string]> };
    saved.files["a.txt"]![1] = sha("forged");
    writeFileSync(c.cache, JSON.stringify(saved));
    assert.equal(digestEntries(c.entries, new FileHashCache(c.cache, later())).files[0], sha("forged"));
    // A touch changes the stat: read again, and the digest is the content's, as before.
    utimesSync(c.entries[0]!.host, new Date(5000), new Date(5000));
    const d2 = digestEntries(c.entries, new FileHashCache(c.cache, later()));
    assert.deepEqual(d2, d1);
  });

  it("does not record a file that changed within the racy margin", () => {
    const c = context({ "a.txt": "new" });
    const cache = new FileHashCache(c.cache, nowNs());
    digestEntries(c.entries, cache);
    cache.save();
    const saved = (() => {
      try {
        return JSON.parse(readFileSync(c.cache, "utf8")) as { files: Record<string, unknown> };
      } catch {
        return { files: {} };
      }
    })();
    assert.equal(saved.files["a.txt"], undefined);
  });

  it("reads again a file rewritten with its size and mtime put back (its ctime moved)", async () => {
    const c = context({ "a.txt": "aaaa" });
    const host = c.entries[0]!.host;
    const old = lstatSync(host);
    // Recorded for real: once the file is older than the margin.
    await until(
      () => BigInt(Date.now()) * 1_000_000n - RACY_MARGIN_NS > lstatSync(host, { bigint: true }).ctimeNs,
      10_000,
    );
    const cache = new FileHashCache(c.cache, nowNs());
    assert.equal(digestEntries(c.entries, cache).files[0], sha("aaaa"));
    cache.save();
    assert.ok(JSON.parse(readFileSync(c.cache, "utf8")).files["a.txt"], "recorded");
    writeFileSync(host, "bbbb");
    utimesSync(host, old.atime, old.mtime);
    assert.equal(lstatSync(host).size, old.size);
    assert.equal(digestEntries(c.entries, new FileHashCache(c.cache, nowNs())).files[0], sha("bbbb"));
  });

  it("keys by path, type, mode, link target and bytes; never times or owners", () => {
    const c = context({ f: "x" });
    symlinkSync("target", join(c.root, "l"));
    const entries = [...c.entries, { host: join(c.root, "l"), rel: "l" }];
    const base = digestEntries(entries, new FileHashCache(undefined, later())).digest;
    lchownSync(join(c.root, "f"), 1234, 5678);
    utimesSync(join(c.root, "f"), new Date(1), new Date(1));
    assert.equal(digestEntries(entries, new FileHashCache(undefined, later())).digest, base);
    chmodSync(join(c.root, "f"), 0o600);
    const moded = digestEntries(entries, new FileHashCache(undefined, later())).digest;
    assert.notEqual(moded, base);
    rmSync(join(c.root, "l"));
    symlinkSync("other", join(c.root, "l"));
    assert.notEqual(digestEntries(entries, new FileHashCache(undefined, later())).digest, moded);
  });

  it("ignores a damaged or foreign cache file, and a path named __proto__ stays a path", () => {
    const c = context({ ["__proto__"]: "p", "b.txt": "b" });
    for (const text of [
      "{not json",
      JSON.stringify({ v: 99, files: {} }),
      JSON.stringify({ v: 1, files: { "b.txt": ["k", "zz"] } }),
    ]) {
      writeFileSync(c.cache, text);
      assert.deepEqual(digestEntries(c.entries, new FileHashCache(c.cache, later())).files, [
        sha("p"),
        sha("b"),
      ]);
    }
    const cache = new FileHashCache(c.cache, later());
    digestEntries(c.entries, cache);
    cache.save();
    const saved = JSON.parse(readFileSync(c.cache, "utf8")) as { files: Record<string, [string, string]> };
    assert.equal(Object.getPrototypeOf(saved.files), Object.prototype);
    assert.equal(Object.hasOwn(saved.files, "__proto__"), true);
    assert.equal(
      new FileHashCache(c.cache, later()).lookup(
        "__proto__",
        Object.getOwnPropertyDescriptor(saved.files, "__proto__")?.value[0],
      ),
      sha("p"),
    );
  });

  it("never reads a file through a symlink it was swapped for", () => {
    const c = context({});
    const link = join(c.root, "swapped");
    symlinkSync("/etc/passwd", link);
    assert.throws(
      () => hashFile(link, Buffer.alloc(1024)),
      (e: unknown) =>
        e instanceof BuildError &&
        e.code === "CONTEXT_PATH" &&
        /changed while the build read it/.test(e.message),
    );
  });
});
