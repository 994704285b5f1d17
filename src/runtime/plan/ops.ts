/**
 * The plan that `native/pier-init` executes: an ordered list of ops, and its wire encoding.
 *
 * Encoding (what the C side parses): `"<byte length>\n"` then, per op, NUL-terminated tokens: the
 * op name, the argument count in decimal, the arguments. Arguments may hold any byte but NUL, so
 * paths and environment values travel unescaped.
 */
import { RuntimeError } from "../error.js";

/** One step of the plan: an op name the helper knows, and its string arguments. */
export interface PlanOp {
  op: string;
  args: string[];
}

/** Shorthand to build a {@link PlanOp}; numbers become decimal strings. */
export function op(name: string, ...args: (string | number)[]): PlanOp {
  return { op: name, args: args.map((a) => (typeof a === "number" ? String(a) : a)) };
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

/** Decodes an encoded plan (for tests and debugging). */
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
    const n = Number(tokens[i++]);
    ops.push({ op: name, args: tokens.slice(i, i + n) });
    i += n;
  }
  return ops;
}
