import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { canReleaseMemory } from "./release-memory.js";

// In a fresh process: 128 MiB of 64 KiB Buffers (malloc's heap, below its mmap threshold), all
// dropped but the last (which pins the heap's top, so malloc cannot shrink it by itself), then
// one bulk transfer's end: after the quiet delay, the collection and the trim give it back.
const CHILD = `
const { bulkTransfer } = await import(${JSON.stringify(new URL("./release-memory.js", import.meta.url).href)});
const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(require("node:fs").readFileSync("/proc/self/status", "utf8"))[1]);
let kept = [];
for (let i = 0; i < 2048; i++) kept.push(Buffer.allocUnsafeSlow(64 * 1024).fill(i));
const last = kept[kept.length - 1];
kept = undefined;
const end = bulkTransfer();
const before = rss();
end(128 << 20);
const deadline = Date.now() + 10_000;
while (rss() > before - 64 * 1024 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
console.log(JSON.stringify({ before, after: rss(), last: last[0] }));
`;

test("after a bulk transfer, dead Buffers' malloc memory goes back to the system", {
  skip: canReleaseMemory() ? false : "native/build/malloc-trim.node is not built (no Node.js headers)",
}, () => {
  const out = execFileSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import { createRequire } from "node:module"; const require = createRequire(import.meta.url);\n${CHILD}`,
    ],
    {
      encoding: "utf8",
    },
  );
  const { before, after } = JSON.parse(out) as { before: number; after: number };
  assert.ok(before - after > 64 * 1024, `RSS went from ${before} kB to ${after} kB`);
});

/** The most memory held by ArrayBuffers while 64 MiB arrive in 64 KiB pieces that die at once, in a fresh process. */
function arrivingPeak(counted: boolean): number {
  const script = `
    const { bodyBytesArrived } = await import(${JSON.stringify(new URL("./release-memory.js", import.meta.url).href)});
    const { keepYoungGenerationSmall } = await import(${JSON.stringify(new URL("./lean-heap.js", import.meta.url).href)});
    keepYoungGenerationSmall();
    let peak = 0;
    for (let i = 0; i < 1024; i++) {
      // What Node's socket reads make: a fresh buffer per read, garbage once stored.
      const piece = Buffer.allocUnsafeSlow(64 * 1024).fill(i);
      if (${counted}) bodyBytesArrived(piece.length);
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      await new Promise((r) => setImmediate(r));
    }
    console.log(JSON.stringify({ peak }));`;
  // Swept at the collection itself, so that the count of ArrayBuffer bytes does not lag behind
  // a background sweep (which frees the same memory a moment later).
  const out = execFileSync(
    process.execPath,
    ["--no-concurrent-array-buffer-sweeping", "--input-type=module", "-e", script],
    { encoding: "utf8" },
  );
  return (JSON.parse(out) as { peak: number }).peak;
}

test("request body pieces that die are collected every 8 MiB, not left to pile up until V8 collects for its own reasons", () => {
  const piled = arrivingPeak(false);
  const counted = arrivingPeak(true);
  assert.ok(piled >= 24 << 20, `control: ${piled >> 20} MiB of dead pieces without the count`);
  assert.ok(
    counted <= 12 << 20,
    `${counted >> 20} MiB of dead pieces held at most (${piled >> 20} MiB without)`,
  );
});
