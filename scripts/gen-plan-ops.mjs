#!/usr/bin/env node
// Writes native/plan-ops.h, pier-init's dispatch table of plan ops, from the TypeScript table
// (src/runtime/plan/op-table.ts, compiled in dist/: run after `npm run build`), then rebuild the
// helper with `sh native/build.sh`. src/runtime/plan/op-header_test.ts fails while the checked-in
// header differs from what this writes.
//   node scripts/gen-plan-ops.mjs
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const compiled = join(ROOT, "dist", "runtime", "plan", "op-header.js");
if (!existsSync(compiled)) {
  console.error(`gen-plan-ops: ${compiled} is missing: run \`npm run build\` first`);
  process.exit(1);
}
const { PLAN_OPS_HEADER_PATH, planOpsHeader } = await import(compiled);
writeFileSync(join(ROOT, PLAN_OPS_HEADER_PATH), planOpsHeader());
console.log(`gen-plan-ops: wrote ${PLAN_OPS_HEADER_PATH}`);
