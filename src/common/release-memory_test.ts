import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { canReleaseMemory } from "./release-memory.js";

const MODULE = JSON.stringify(new URL("./release-memory.js", import.meta.url).href);

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

// In a fresh process: glibc's arenas (64 MiB-aligned heaps high in the address space) before and
// after four worker threads allocate, with or without the cap set first.
function arenasMadeByWorkers(cap: boolean): number {
  const child = `
const { limitMallocArenas } = await import(${MODULE});
const { readFileSync } = await import("node:fs");
const { Worker } = await import("node:worker_threads");
const ARENA = 64n << 20n;
const arenas = () => readFileSync("/proc/self/maps", "utf8").split("\\n").filter((l) => {
  const start = BigInt("0x" + (l.split("-")[0] || "0"));
  return start >= 0x7f0000000000n && start % ARENA === 0n;
}).length;
if (${cap} && !limitMallocArenas(1)) throw new Error("limitMallocArenas refused");
const before = arenas();
// Each allocates in its own thread (its isolate's set-up alone does), all alive at once.
const workers = Array.from({ length: 4 }, () => new Worker("setTimeout(() => {}, 300); const a = []; for (let i = 0; i < 1e5; i++) a.push({ i });", { eval: true }));
await new Promise((r) => setTimeout(r, 150));
const during = arenas();
await Promise.all(workers.map((w) => new Promise((r) => w.on("exit", r))));
console.log(during - before);
`;
  return Number(
    execFileSync(process.execPath, ["--input-type=module", "-e", child], { encoding: "utf8" }).trim(),
  );
}

test("limitMallocArenas(1): threads that start allocating afterwards make no arena of their own", {
  skip: canReleaseMemory() ? false : "native/build/malloc-trim.node is not built (no Node.js headers)",
}, () => {
  const uncapped = arenasMadeByWorkers(false);
  assert.ok(uncapped >= 1, `control: without the cap the workers made ${uncapped} arenas`);
  assert.equal(arenasMadeByWorkers(true), 0);
});
