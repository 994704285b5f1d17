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
