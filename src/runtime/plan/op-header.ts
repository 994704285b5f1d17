/**
 * The C side of the plan's op table: `native/plan-ops.h`, generated from {@link PLAN_OPS} (by
 * `node scripts/gen-plan-ops.mjs` after a build) and checked in, so that the helper builds with
 * a C compiler alone. pier-init dispatches each record through it: a binary search by name, the
 * argument count checked against it, then the handler `op_<name>`. Pure.
 */
import { argCounts, type OpName, type OpSpec, PLAN_OPS, signature } from "./op-table.js";

/** Where the generated header lives, relative to the repository. */
export const PLAN_OPS_HEADER_PATH = "native/plan-ops.h";

/** One row of the C table, as `pier-init --ops` lists it: `NAME\tMIN\tMAX\tSIGNATURE`. */
export interface OpRow {
  name: OpName;
  min: number;
  max: number;
  signature: string;
}

/** The table's rows in the C table's order: by name, byte-wise (the order bsearch needs). */
export function opRows(): OpRow[] {
  return (Object.entries(PLAN_OPS) as [OpName, OpSpec][])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, spec]) => ({ name, ...argCounts(spec), signature: signature(spec) }));
}

/** A string as a C literal (the table's texts are printable ASCII; quotes and backslashes escaped). */
function cString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The text of `native/plan-ops.h`. */
export function planOpsHeader(): string {
  const rows = opRows();
  const lines = [
    "/*",
    " * The plan ops pier-init executes. GENERATED from src/runtime/plan/op-table.ts by",
    " * `node scripts/gen-plan-ops.mjs` (after `npm run build`): do not edit by hand;",
    " * src/runtime/plan/op-header_test.ts fails when this file is out of date.",
    " *",
    " * Included by pier-init.c after record_t: each op NAME is run by `static void op_NAME(record_t *r)`",
    " * once its argument count is within [min_args, max_args] (max_args -1: no upper bound).",
    " */",
    "#ifndef PIER_PLAN_OPS_H",
    "#define PIER_PLAN_OPS_H",
    "",
    "typedef struct {",
    "  const char *name;",
    "  void (*run)(record_t *r);",
    "  int min_args;",
    "  int max_args;",
    "  const char *signature;",
    "} plan_op_t;",
    "",
  ];
  for (const r of rows) {
    lines.push(`/* ${r.name} ${r.signature}`.trimEnd(), ` *   ${PLAN_OPS[r.name].doc} */`);
    lines.push(`static void op_${r.name}(record_t *r);`);
  }
  lines.push("", "/* Sorted by name (strcmp order) for bsearch. */", "static const plan_op_t plan_ops[] = {");
  for (const r of rows)
    lines.push(`    {${cString(r.name)}, op_${r.name}, ${r.min}, ${r.max}, ${cString(r.signature)}},`);
  lines.push("};", "", "#define PLAN_OP_COUNT (sizeof plan_ops / sizeof plan_ops[0])", "", "#endif", "");
  return lines.join("\n");
}
