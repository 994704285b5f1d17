import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { tarOf } from "../testing/layer-tar.js";
import { snapshotTree } from "../testing/tree-snapshot.js";
import { applyLayer } from "./apply.js";
import { applyLayerFile } from "./apply-thread.js";
import { LayerError } from "./error.js";

/** A layer of `n` small files in 100 directories. */
function manyFiles(n: number): Buffer {
  return tarOf([
    ...Array.from({ length: 100 }, (_, d) => ({ name: `d${d}`, type: "dir" as const })),
    ...Array.from({ length: n }, (_, i) => ({ name: `d${i % 100}/f${i}`, body: `file ${i}\n` })),
  ]);
}

/**
 * Runs `work` and measures how busy this thread's event loop was meanwhile (0: idle, 1: never
 * free), which the machine's load does not distort as a timer's lateness would.
 */
async function loopBusy<T>(work: () => Promise<T>): Promise<{ value: T; busy: number }> {
  const start = performance.eventLoopUtilization();
  const value = await work();
  return { value, busy: performance.eventLoopUtilization(start).utilization };
}

/** The nice value of each thread of this process, the main thread first. */
function threadNices(): number[] {
  const tids = readdirSync("/proc/self/task").sort((a, b) =>
    a === String(process.pid) ? -1 : b === String(process.pid) ? 1 : 0,
  );
  return tids.map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  });
}

describe("applyLayerFile (apply on a worker thread)", () => {
  let dir: string;
  let bigLayer: string;
  let bigTar: Buffer;
  before(async () => {
    dir = await makeTempDir("pier-apply-thread-");
    bigTar = manyFiles(30_000);
    bigLayer = join(dir, "big.tar.gz");
    writeFileSync(bigLayer, gzipSync(bigTar, { level: 1 }));
  });
  after(() => removeTempDir(dir));

  it("gives what applyLayer gives, while the caller's event loop keeps running", async (t) => {
    const viaThread = join(dir, "thread");
    const inline = join(dir, "inline");
    mkdirSync(viaThread);
    mkdirSync(inline);
    const options = { mediaType: MediaType.OciLayerGzip, expectedDiffId: digestOf(bigTar) };
    const threaded = await loopBusy(() => applyLayerFile(viaThread, bigLayer, options));
    assert.equal(threaded.value.files, 30_000);
    assert.equal(threaded.value.diffId, digestOf(bigTar));
    const inThread = await loopBusy(() => applyLayer(inline, Readable.from([gzipSync(bigTar)]), options));
    t.diagnostic(
      `event loop busy: ${threaded.busy.toFixed(3)} threaded, ${inThread.busy.toFixed(3)} in-thread`,
    );
    // On this thread the apply keeps the loop busy most of the time; on the worker it does not.
    assert.ok(inThread.busy > 0.5, `the in-thread apply kept the loop only ${inThread.busy} busy`);
    assert.ok(threaded.busy < 0.1, `the loop was ${threaded.busy} busy during the threaded apply`);
    assert.deepEqual(await snapshotTree(viaThread), await snapshotTree(inline));
  });

  it("reports the apply's own error codes", async () => {
    const escaping = join(dir, "escape.tar");
    writeFileSync(escaping, tarOf([{ name: "../../etc/owned", body: "x" }]));
    const dest = join(dir, "escape");
    mkdirSync(dest);
    await assert.rejects(applyLayerFile(dest, escaping), (e: unknown) => {
      assert.ok(e instanceof LayerError);
      assert.equal(e.code, "PATH_ESCAPE");
      assert.match(e.message, /\.\.\/\.\.\/etc\/owned/);
      return true;
    });
    await assert.rejects(
      applyLayerFile(dest, join(dir, "missing.tar")),
      (e: unknown) => e instanceof LayerError && /missing\.tar/.test(e.message),
    );
    // Refused before the decompressing thread starts, and after (the destination is checked
    // once that thread runs): either way the error comes back and the threads go away.
    await assert.rejects(
      applyLayerFile(dest, escaping, { mediaType: "application/vnd.oci.image.config.v1+json" }),
      (e: unknown) => e instanceof LayerError && e.code === "UNSUPPORTED_COMPRESSION",
    );
    await assert.rejects(
      applyLayerFile(join(dir, "no-such-dir"), escaping),
      (e: unknown) =>
        e instanceof LayerError && e.code === "APPLY_FAILED" && /not a directory/.test(e.message),
    );
  });

  it("stops the apply when the signal aborts; runs it at the niceness asked for", async () => {
    const dest = join(dir, "cancelled");
    mkdirSync(dest);
    const ac = new AbortController();
    const started = performance.now();
    const applying = applyLayerFile(
      dest,
      bigLayer,
      { mediaType: MediaType.OciLayerGzip },
      { signal: ac.signal, nice: 7 },
    );
    const count = () => readdirSync(dest).reduce((n, d) => n + readdirSync(join(dest, d)).length, 0);
    // Abort once the apply is visibly under way.
    while (count() < 1000) await new Promise((r) => setTimeout(r, 10));
    assert.ok(threadNices().includes(7), `no thread at nice 7 among ${threadNices()}`);
    assert.equal(threadNices()[0], 0, "the calling thread keeps its priority");
    ac.abort();
    await assert.rejects(applying, (e: unknown) => e instanceof LayerError && e.code === "CANCELLED");
    const abortedAfter = performance.now() - started;
    await new Promise((r) => setTimeout(r, 300));
    const n1 = count();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(count(), n1, "nothing is written after the abort");
    assert.ok(n1 < 30_000, `the apply ran to completion (${n1} files, aborted after ${abortedAfter} ms)`);
  });
});
