/**
 * The plan that `native/pier-init` executes: an ordered list of ops, and its wire encoding.
 *
 * Encoding (what the C side parses): `"<byte length>\n"` then, per op, NUL-terminated tokens: the
 * op name, the argument count in decimal, the arguments. Arguments may hold any byte but NUL, so
 * paths and environment values travel unescaped.
 */
import { RuntimeError } from "../error.js";
import { type OpArgs, type OpName, PLAN_OPS } from "./op-table.js";

export type { OpArgs, OpName } from "./op-table.js";

/**
 * One step of the plan as it travels: an op name from {@link PLAN_OPS} and its arguments as
 * text. Built by {@link op}, which types the arguments; a literal of this type skips that typing
 * (tests that hand pier-init malformed arguments on purpose).
 */
export interface PlanOp {
  op: OpName;
  args: string[];
}

type ArgValue = OpArgs<OpName>[number];

/** The wire text of one argument (see `ArgKind` in op-table.ts). */
function argText(a: ArgValue): string {
  if (typeof a === "string") return a;
  if (typeof a === "number") return String(a);
  if (typeof a === "bigint") return `0x${a.toString(16)}`;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex");
}

/** Builds a {@link PlanOp}: the name and arguments are checked against the op table by `tsc`. */
export function op<N extends OpName>(name: N, ...args: OpArgs<N>): PlanOp {
  return { op: name, args: (args as ArgValue[]).map(argText) };
}

/** Encodes a plan for the helper; throws `INVALID_CONFIG` when an argument contains NUL. */
export function encodePlan(ops: readonly PlanOp[]): Buffer {
  const parts: string[] = [];
  for (const o of ops) {
    parts.push(o.op, String(o.args.length));
    for (const a of o.args) {
      if (a.includes("\0")) throw new RuntimeError("INVALID_CONFIG", `${o.op}: argument contains a NUL byte`);
      parts.push(a);
    }
  }
  const body = Buffer.from(`${parts.join("\0")}\0`, "utf8");
  return Buffer.concat([Buffer.from(`${body.length}\n`), body]);
}

/** Decodes an encoded plan (for tests and debugging); throws `INVALID_CONFIG` on an unknown op. */
export function decodePlan(buf: Buffer): PlanOp[] {
  const nl = buf.indexOf(10);
  const len = Number(buf.subarray(0, nl).toString());
  const tokens = buf
    .subarray(nl + 1, nl + 1 + len)
    .toString("utf8")
    .split("\0");
  tokens.pop();
  const ops: PlanOp[] = [];
  for (let i = 0; i < tokens.length; ) {
    const name = tokens[i++] ?? "";
    if (!Object.hasOwn(PLAN_OPS, name))
      throw new RuntimeError("INVALID_CONFIG", `plan: unknown op ${JSON.stringify(name)}`);
    const n = Number(tokens[i++]);
    ops.push({ op: name as OpName, args: tokens.slice(i, i + n) });
    i += n;
  }
  return ops;
}
