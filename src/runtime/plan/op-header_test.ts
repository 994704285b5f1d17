/**
 * The plan's two sides agree: the checked-in `native/plan-ops.h` is what the TypeScript table
 * generates, the built pier-init dispatches by exactly that table, and pier-init refuses an op
 * it does not know or one with the wrong argument count, naming it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { runHelperPlan } from "../../testing/runtime-plan.js";
import { ensureHelper, findNativeDir } from "../helper.js";
import { opRows, PLAN_OPS_HEADER_PATH, planOpsHeader } from "./op-header.js";
import { op, type PlanOp } from "./ops.js";

/** A plan in the wire encoding from raw tokens (names the typed builders would not accept). */
function rawPlan(...tokens: string[]): Buffer {
  const body = Buffer.from(tokens.map((t) => `${t}\0`).join(""));
  return Buffer.concat([Buffer.from(`${body.length}\n`), body]);
}

test("native/plan-ops.h is the header generated from the op table", () => {
  const path = join(dirname(findNativeDir()), PLAN_OPS_HEADER_PATH);
  assert.equal(
    readFileSync(path, "utf8"),
    planOpsHeader(),
    `${PLAN_OPS_HEADER_PATH} is out of date: run \`npm run build && node scripts/gen-plan-ops.mjs && npm run build\``,
  );
});

test("the built pier-init dispatches by the op table: names, argument counts and signatures", () => {
  const listed = execFileSync(ensureHelper(), ["--ops"], { encoding: "utf8" });
  const expected = opRows()
    .map((r) => `${r.name}\t${r.min}\t${r.max}\t${r.signature}\n`)
    .join("");
  assert.equal(listed, expected);
  assert.ok(opRows().length > 60);
});

test("pier-init refuses an unknown op, naming it, before running anything", async () => {
  const r = await runHelperPlan(rawPlan("mkdirs", "1", "/x", "exec", "1", "/bin/true"));
  assert.equal(r.code, 1);
  assert.match(r.said, /^error plan: unknown op "mkdirs"$/m);
  // The first record is refused before any later one runs.
  const late = await runHelperPlan(rawPlan("nnp", "0", "bogus", "0", "exec", "1", "/bin/true"));
  assert.equal(late.code, 1);
  assert.match(late.said, /^error plan: unknown op "bogus"$/m);
});

test("pier-init refuses an op with too few or too many arguments, naming the op and what it takes", async () => {
  const few: PlanOp = { op: "mkfifo", args: ["/nonexistent/fifo"] };
  let r = await runHelperPlan([few, op("exec", "/bin/true")]);
  assert.equal(r.code, 1);
  assert.match(r.said, /^error plan: op mkfifo got 1 arguments, takes PATH:text UID:int GID:int$/m);
  const many: PlanOp = { op: "setsid", args: ["now"] };
  r = await runHelperPlan([many, op("exec", "/bin/true")]);
  assert.equal(r.code, 1);
  assert.match(r.said, /^error plan: op setsid got 1 arguments, takes none$/m);
  // Within bounds, and variadic: the plan runs.
  r = await runHelperPlan([op("env", "A=1"), op("exec", "/bin/sh", "-c", "echo $A")]);
  assert.equal(r.code, 0, r.said);
  assert.equal(r.stdout, "1\n");
});
