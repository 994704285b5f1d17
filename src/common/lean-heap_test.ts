import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { YOUNG_GENERATION_CAP_FLAG } from "./lean-heap.js";

const leanHeap = new URL("./lean-heap.js", import.meta.url).href;

/** The young generation's size before and after a burst of surviving allocation, in a fresh process. */
function youngGeneration(
  lean: boolean,
  nodeFlags: string[] = [],
  workerFirst = false,
): { before: number; after: number } {
  const script = `
    const { keepYoungGenerationSmall, youngGenerationBytes } = await import(${JSON.stringify(leanHeap)});
    if (${lean}) keepYoungGenerationSmall();
    if (${workerFirst}) {
      // A worker thread's heap set up (and gone) before the burst, as a pull's layer apply.
      const { Worker } = await import("node:worker_threads");
      await new Promise((r) => new Worker("0", { eval: true }).on("exit", r));
    }
    const before = youngGenerationBytes();
    // Objects that survive a few scavenges each: what makes V8 grow the young generation.
    let keep = [];
    for (let i = 0; i < 3_000_000; i++) {
      keep.push({ i, s: "x" + i });
      if (keep.length > 50_000) keep = [];
    }
    console.log(JSON.stringify({ before, after: youngGenerationBytes() }));`;
  const r = spawnSync(process.execPath, [...nodeFlags, "--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { before: number; after: number };
}

test("keepYoungGenerationSmall: the young generation stays small under allocation that grows it 32-fold otherwise", () => {
  const grown = youngGeneration(false);
  assert.ok(grown.after >= 8 * grown.before, `control: V8 grows it (${grown.before} -> ${grown.after})`);
  const lean = youngGeneration(true);
  // V8 commits the second semispace once (1 -> 2 MiB here); it never grows past that.
  assert.ok(lean.after <= 2 * lean.before, `${lean.before} -> ${lean.after}`);
  assert.ok(lean.after * 4 <= grown.after, `${lean.after} vs ${grown.after} without`);
});

test("YOUNG_GENERATION_CAP_FLAG on the command line caps as keepYoungGenerationSmall does; the growth factor there does not", () => {
  const grown = youngGeneration(false);
  const viaFlag = youngGeneration(false, [YOUNG_GENERATION_CAP_FLAG]);
  assert.ok(viaFlag.after <= 2 * viaFlag.before, `${viaFlag.before} -> ${viaFlag.after}`);
  assert.ok(viaFlag.after * 4 <= grown.after, `${viaFlag.after} vs ${grown.after} without`);
  // Why not the run-time flag's name: on the command line V8 grows the young generation anyway.
  const factor = youngGeneration(false, ["--semi-space-growth-factor=1"]);
  assert.ok(factor.after >= 8 * factor.before, `${factor.before} -> ${factor.after}`);
});

test("keepYoungGenerationSmall: a worker thread's heap does not undo it (V8 resets the flag when it sets up a heap)", () => {
  const grown = youngGeneration(false, [], true);
  assert.ok(grown.after >= 8 * grown.before, `control: V8 grows it (${grown.before} -> ${grown.after})`);
  const lean = youngGeneration(true, [], true);
  assert.ok(lean.after <= 2 * lean.before, `${lean.before} -> ${lean.after}`);
  assert.ok(lean.after * 4 <= grown.after, `${lean.after} vs ${grown.after} without`);
});

/** The old generation's largest size while objects that live a little (long enough to be promoted) come and go. */
function oldGenerationPeak(tight: boolean): number {
  const script = `
    const { keepYoungGenerationSmall, keepOldGenerationTight } = await import(${JSON.stringify(leanHeap)});
    const { getHeapSpaceStatistics } = await import("node:v8");
    keepYoungGenerationSmall();
    if (${tight}) keepOldGenerationTight();
    const old = () => getHeapSpaceStatistics().find((s) => s.space_name === "old_space").space_size;
    // A live set that stays (a server's modules and caches), then a window of objects that
    // survive a few scavenges each before they die (requests in flight).
    const live = [];
    for (let i = 0; i < 300_000; i++) live.push({ i, s: "live" + i });
    let peak = 0;
    let window = [];
    for (let i = 0; i < 4_000_000; i++) {
      window.push({ i, s: "w" + i });
      if (window.length > 30_000) window = [];
      if ((i & 4095) === 0) peak = Math.max(peak, old());
    }
    console.log(JSON.stringify({ peak, live: live.length }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { peak: number }).peak;
}

test("keepOldGenerationTight: promoted garbage is collected near the live size instead of V8 letting the heap grow several-fold", () => {
  const loose = oldGenerationPeak(false);
  const tight = oldGenerationPeak(true);
  // Here: about 100 MiB without, 35 MiB with (the live set is about 25 MiB).
  assert.ok(tight * 2 <= loose, `old generation peak ${tight >> 20} MiB, ${loose >> 20} MiB without`);
});
