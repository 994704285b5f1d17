import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { isPierError } from "../errors.js";
import { digestOf } from "../oci/digest.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { LocalContentStore } from "./local-store.js";

const STORE_MODULE = new URL("./local-store.js", import.meta.url).href;

/** Runs a child Node process that has `store` (a LocalContentStore at `root`) in scope. */
function child(root: string, body: string): ChildProcess {
  const code = `import { readFileSync } from "node:fs";
import { LocalContentStore } from ${JSON.stringify(STORE_MODULE)};
const store = new LocalContentStore(${JSON.stringify(root)});
${body}`;
  return spawn(process.execPath, ["--input-type=module", "-e", code], {
    stdio: ["ignore", "pipe", "inherit"],
  });
}

function exited(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve(proc.exitCode);
    else proc.once("exit", (code) => resolve(code));
  });
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function blobNames(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const alg of ["sha256", "sha512"]) {
    const dir = join(root, "blobs", alg);
    if (existsSync(dir)) for (const n of await readdir(dir)) out.push(`${alg}:${n}`);
  }
  return out.sort();
}

async function collect(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe("LocalContentStore", () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir("pier-content-");
  });
  after(async () => {
    await removeTempDir(dir);
  });

  test("open creates an image layout and ingest publishes verified blobs", async () => {
    const root = join(dir, "basic");
    const store = await LocalContentStore.open(root);
    assert.deepEqual(JSON.parse(await readFile(join(root, "oci-layout"), "utf8")), {
      imageLayoutVersion: "1.0.0",
    });
    assert.deepEqual(JSON.parse(await readFile(join(root, "index.json"), "utf8")).manifests, []);
    const data = "hello, content";
    const info = await store.ingest(data, { digest: digestOf(data), size: data.length });
    assert.deepEqual(info, { digest: digestOf(data), size: data.length });
    assert.equal((await store.readBytes(info.digest)).toString(), data);
    assert.deepEqual(await store.info(info.digest), info);
    assert.equal((await stat(store.blobPath(info.digest))).mode & 0o777, 0o444);
    const fromStream = await store.ingest(Readable.from([Buffer.from("a"), Buffer.from("b")]));
    assert.equal(fromStream.digest, digestOf("ab"));
    const listed = [];
    for await (const b of store.list()) listed.push(b);
    assert.deepEqual(listed.map((b) => b.digest).sort(), [digestOf(data), digestOf("ab")].sort());
    // Ingesting again (already present) verifies the source and writes nothing new.
    assert.deepEqual(await store.ingest(data, { digest: digestOf(data) }), info);
    await assert.rejects(store.ingest("other", { digest: digestOf(data) }), (e) =>
      isPierError(e, "DIGEST_MISMATCH"),
    );
    assert.equal(await store.delete(info.digest), true);
    assert.equal(await store.delete(info.digest), false);
    assert.equal(await store.info(info.digest), undefined);
    await assert.rejects(store.read(info.digest), (e) => isPierError(e, "NOT_FOUND"));
    assert.deepEqual(await readdir(store.ingestDir), []);
  });

  test("sha512 digests are verified and stored under blobs/sha512", async () => {
    const store = await LocalContentStore.open(join(dir, "sha512"));
    const d = digestOf("x512", "sha512");
    const info = await store.ingest("x512", { digest: d });
    assert.equal(info.digest, d);
    assert.ok(existsSync(join(store.root, "blobs", "sha512", d.slice(7))));
    const w = await store.writer("s512");
    await w.write(Buffer.from("x512"));
    assert.deepEqual(await w.commit({ digest: d }), info);
  });

  test("a wrong digest or size is refused, names both values, and leaves nothing behind", async () => {
    const store = await LocalContentStore.open(join(dir, "wrong"));
    const wrong = digestOf("something else");
    await assert.rejects(store.ingest("payload", { digest: wrong }), (e: unknown) => {
      assert.ok(isPierError(e, "DIGEST_MISMATCH"));
      assert.match(e.message, new RegExp(`expected ${wrong}, got ${digestOf("payload")}`));
      return true;
    });
    await assert.rejects(store.ingest("payload", { size: 3 }), (e: unknown) => {
      assert.ok(isPierError(e, "SIZE_MISMATCH"));
      assert.match(e.message, /expected 3 bytes/);
      return true;
    });
    await assert.rejects(store.ingest("payload", { size: 100 }), (e: unknown) => {
      assert.ok(isPierError(e, "SIZE_MISMATCH"));
      assert.match(e.message, /expected 100 bytes, got 7/);
      return true;
    });
    assert.deepEqual(await blobNames(store.root), []);
    assert.deepEqual(await readdir(store.ingestDir), []);
  });

  test("a stream that fails midway leaves no blob and no temp file", async () => {
    const store = await LocalContentStore.open(join(dir, "trunc"));
    const broken = new Readable({
      read() {
        this.push(randomBytes(70_000));
        this.destroy(new Error("connection reset"));
      },
    });
    await assert.rejects(store.ingest(broken, { size: 1 << 20 }), /connection reset/);
    assert.deepEqual(await blobNames(store.root), []);
    assert.deepEqual(await readdir(store.ingestDir), []);
  });

  test("byte ranges are served and bad ranges refused", async () => {
    const store = await LocalContentStore.open(join(dir, "range"));
    const data = Buffer.from("0123456789");
    const { digest } = await store.ingest(data);
    assert.equal((await collect(await store.read(digest, { start: 2, end: 5 }))).toString(), "2345");
    assert.equal((await collect(await store.read(digest, { start: 7 }))).toString(), "789");
    assert.equal((await collect(await store.read(digest, { start: 10 }))).length, 0);
    assert.equal((await collect(await store.read(digest))).toString(), "0123456789");
    await assert.rejects(store.read(digest, { start: 5, end: 10 }), (e) => isPierError(e, "INVALID_RANGE"));
    await assert.rejects(store.read(digest, { start: 11 }), (e) => isPierError(e, "INVALID_RANGE"));
    await assert.rejects(store.read(digest, { start: -1 }), (e) => isPierError(e, "INVALID_RANGE"));
    await assert.rejects(store.readBytes(digest, 5), (e) => isPierError(e, "TOO_LARGE"));
  });

  test("invalid digests never become paths", async () => {
    const store = new LocalContentStore(join(dir, "paths"));
    assert.throws(
      () => store.blobPath("sha256:../../etc/passwd" as never),
      (e) => isPierError(e, "INVALID_DIGEST"),
    );
  });

  test("a writer resumes by ref, one writer per ref, and commit verifies", async () => {
    const store = await LocalContentStore.open(join(dir, "writer"));
    const data = randomBytes(300_000);
    const w1 = await store.writer("upload-1");
    await w1.write(data.subarray(0, 100_000));
    await assert.rejects(store.writer("upload-1"), (e) => isPierError(e, "INGEST_IN_PROGRESS"));
    await w1.close();
    const w2 = await store.writer("upload-1");
    assert.equal(w2.offset, 100_000);
    await w2.writeStream(Readable.from([data.subarray(100_000)]));
    const bad = digestOf("nope");
    await assert.rejects(w2.commit({ digest: bad }), (e) => isPierError(e, "DIGEST_MISMATCH"));
    assert.deepEqual(await readdir(store.ingestDir), [], "data deleted after a mismatch");
    const w3 = await store.writer("upload-1");
    assert.equal(w3.offset, 0);
    await w3.write(data);
    assert.deepEqual(await w3.commit({ digest: digestOf(data), size: data.length }), {
      digest: digestOf(data),
      size: data.length,
    });
    assert.ok((await store.readBytes(digestOf(data))).equals(data));
    await assert.rejects(w3.write(data), (e) => isPierError(e, "ABORTED"));
    const w4 = await store.writer("upload-2");
    await w4.write(data);
    await w4.abort();
    assert.deepEqual(await readdir(store.ingestDir), []);
  });

  test("kill -9 mid-ingest leaves nothing visible; a killed writer resumes in a new process", async () => {
    const store = await LocalContentStore.open(join(dir, "crash"));
    const data = randomBytes(3 << 20);
    const digest = digestOf(data);
    // A one-shot ingest fed 1 MiB, then stalled forever.
    const p1 = child(
      store.root,
      `async function* src() { yield Buffer.alloc(1 << 20, 1); await new Promise(() => {}); }
       await store.ingest(src(), { digest: ${JSON.stringify(digest)} });`,
    );
    await waitFor("temp data", async () => {
      const names = await readdir(store.ingestDir).catch(() => []);
      return names.length > 0 && (await stat(join(store.ingestDir, names[0]!))).size > 0;
    });
    p1.kill("SIGKILL");
    await exited(p1);
    assert.deepEqual(await blobNames(store.root), [], "no blob visible after the crash");
    const leftovers = await readdir(store.ingestDir);
    assert.equal(leftovers.length, 1);
    assert.deepEqual(await store.pruneIngest(), leftovers, "the dead process's temp file is pruned");
    // A resumable writer: the child writes the first 1 MiB, then is killed.
    const part = join(dir, "crash-part");
    await writeFile(part, data.subarray(0, 1 << 20));
    const p2 = child(
      store.root,
      `const w = await store.writer("pull-1");
       await w.write(readFileSync(${JSON.stringify(part)}));
       process.stdout.write("written\\n");
       await new Promise(() => {});`,
    );
    await new Promise<void>((resolve) => p2.stdout!.once("data", () => resolve()));
    p2.kill("SIGKILL");
    await exited(p2);
    assert.equal(await store.info(digest), undefined);
    const w = await store.writer("pull-1");
    assert.equal(w.offset, 1 << 20, "resumes at the end of the killed writer's data");
    await w.write(data.subarray(w.offset));
    assert.deepEqual(await w.commit({ digest, size: data.length }), { digest, size: data.length });
    assert.ok((await store.readBytes(digest)).equals(data));
    // An abandoned writer's data is pruned once old enough, an open one never.
    const open = await store.writer("open");
    await open.write(Buffer.from("in use"));
    const abandoned = await store.writer("abandoned");
    await abandoned.write(Buffer.from("left behind"));
    await abandoned.close();
    assert.deepEqual(await store.pruneIngest(), []);
    const pruned = await store.pruneIngest({ maxAgeMs: -1 });
    assert.equal(pruned.length, 1);
    const reopened = await store.writer("abandoned");
    assert.equal(reopened.offset, 0);
    await reopened.abort();
    assert.equal(open.offset, 6);
    await open.abort();
  });

  test("four processes ingesting one blob at once all succeed and publish it once", async () => {
    const store = await LocalContentStore.open(join(dir, "race"));
    const data = randomBytes(4 << 20);
    const digest = digestOf(data);
    const file = join(dir, "race-data");
    await writeFile(file, data);
    const procs = Array.from({ length: 4 }, () =>
      child(
        store.root,
        `const buf = readFileSync(${JSON.stringify(file)});
         async function* chunks() { for (let i = 0; i < buf.length; i += 65536) { yield buf.subarray(i, i + 65536); await new Promise(r => setImmediate(r)); } }
         const info = await store.ingest(chunks(), { digest: ${JSON.stringify(digest)}, size: ${data.length} });
         if (info.digest !== ${JSON.stringify(digest)}) process.exit(3);`,
      ),
    );
    const codes = await Promise.all(procs.map(exited));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    assert.deepEqual(await blobNames(store.root), [digest]);
    assert.ok((await store.readBytes(digest)).equals(data));
    assert.deepEqual(await readdir(store.ingestDir), []);
  });
});
