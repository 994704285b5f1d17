import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

const leanHeap = new URL("./lean-heap.js", import.meta.url).href;

/** The young generation's size before and after a burst of surviving allocation, in a fresh process. */
function youngGeneration(lean: boolean): { before: number; after: number } {
  const script = `
    const { keepYoungGenerationSmall, youngGenerationBytes } = await import(${JSON.stringify(leanHeap)});
    if (${lean}) keepYoungGenerationSmall();
    const before = youngGenerationBytes();
    // Objects that survive a few scavenges each: what makes V8 grow the young generation.
    let keep = [];
    for (let i = 0; i < 3_000_000; i++) {
      keep.push({ i, s: "x" + i });
      if (keep.length > 50_000) keep = [];
    }
    console.log(JSON.stringify({ before, after: youngGenerationBytes() }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
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
