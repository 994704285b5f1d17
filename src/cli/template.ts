/**
 * A small Go-template-like renderer for `--format '{{.Field}}'`, covering what docker users
 * type: fields (`.A.B`, `.`), `json`, `upper`, `lower`, `len`, `index . "key"`,
 * `range … end`, `if … else … end`, literal `\t`/`\n` escapes, and the `table` prefix (a header
 * row from the field names, columns aligned). Unknown fields render as `<no value>` as in Go;
 * a malformed template is a {@link TemplateError} naming the problem. Pure.
 */
import { PierError } from "../errors.js";

/** A template that cannot be parsed or applied. */
export class TemplateError extends PierError {
  constructor(message: string) {
    super("INVALID_TEMPLATE", message);
  }
}

type Node =
  | { kind: "text"; text: string }
  | { kind: "expr"; expr: string }
  | { kind: "range"; expr: string; body: Node[] }
  | { kind: "if"; expr: string; then: Node[]; else: Node[] };

function tokenize(tpl: string): { text?: string; action?: string }[] {
  const out: { text?: string; action?: string }[] = [];
  let i = 0;
  while (i < tpl.length) {
    const open = tpl.indexOf("{{", i);
    if (open < 0) {
      out.push({ text: tpl.slice(i) });
      break;
    }
    if (open > i) out.push({ text: tpl.slice(i, open) });
    const close = tpl.indexOf("}}", open + 2);
    if (close < 0) throw new TemplateError(`template: unclosed action at offset ${open}`);
    out.push({
      action: tpl
        .slice(open + 2, close)
        .replace(/^-\s|\s-$/g, "")
        .trim(),
    });
    i = close + 2;
  }
  return out;
}

function parse(tokens: { text?: string; action?: string }[], pos: { i: number }, until: string[]): Node[] {
  const nodes: Node[] = [];
  while (pos.i < tokens.length) {
    const t = tokens[pos.i]!;
    if (t.text !== undefined) {
      nodes.push({ kind: "text", text: t.text });
      pos.i++;
      continue;
    }
    const a = t.action!;
    const word = a.split(/\s+/)[0]!;
    if (until.includes(word)) return nodes;
    pos.i++;
    if (word === "range") {
      const body = parse(tokens, pos, ["end"]);
      if (tokens[pos.i]?.action !== "end") throw new TemplateError("template: range without end");
      pos.i++;
      nodes.push({ kind: "range", expr: a.slice(5).trim(), body });
    } else if (word === "if") {
      const then = parse(tokens, pos, ["else", "end"]);
      let otherwise: Node[] = [];
      if (tokens[pos.i]?.action === "else") {
        pos.i++;
        otherwise = parse(tokens, pos, ["end"]);
      }
      if (tokens[pos.i]?.action !== "end") throw new TemplateError("template: if without end");
      pos.i++;
      nodes.push({ kind: "if", expr: a.slice(2).trim(), then, else: otherwise });
    } else if (word === "end" || word === "else") {
      throw new TemplateError(`template: unexpected {{${word}}}`);
    } else nodes.push({ kind: "expr", expr: a });
  }
  if (until.length) throw new TemplateError(`template: missing {{${until.join("/")}}}`);
  return nodes;
}

const NO_VALUE = Symbol("no value");

function field(dot: unknown, path: string): unknown {
  if (path === ".") return dot;
  let v: unknown = dot;
  for (const part of path.slice(1).split(".")) {
    if (v === null || typeof v !== "object" || !(part in (v as object))) return NO_VALUE;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function args(expr: string): string[] {
  return expr.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}

function evaluate(expr: string, dot: unknown): unknown {
  const stages = expr.split("|").map((s) => s.trim());
  let value: unknown = NO_VALUE;
  for (const [n, stage] of stages.entries()) {
    const words = args(stage);
    const operand = (w: string): unknown => {
      if (w.startsWith(".")) return field(dot, w);
      if (w.startsWith('"')) return JSON.parse(w) as string;
      if (/^-?\d+$/.test(w)) return Number(w);
      throw new TemplateError(`template: function "${w}" not defined`);
    };
    const [head, ...rest] = words;
    if (!head) throw new TemplateError("template: empty action");
    const operands = rest.map(operand);
    if (n > 0) operands.push(value);
    switch (head) {
      case "json":
        value = JSON.stringify(operands[0] === NO_VALUE ? null : operands[0]);
        break;
      case "upper":
        value = text(operands[0]).toUpperCase();
        break;
      case "lower":
        value = text(operands[0]).toLowerCase();
        break;
      case "len": {
        const v = operands[0];
        value = Array.isArray(v)
          ? v.length
          : v && typeof v === "object"
            ? Object.keys(v).length
            : text(v).length;
        break;
      }
      case "index": {
        const [obj, key] = operands;
        value =
          obj && typeof obj === "object" && (key as string | number) in (obj as object)
            ? (obj as Record<string, unknown>)[key as string]
            : NO_VALUE;
        break;
      }
      default:
        if (rest.length || n > 0) throw new TemplateError(`template: function "${head}" not defined`);
        value = operand(head);
    }
  }
  return value;
}

function text(v: unknown): string {
  if (v === NO_VALUE || v === undefined) return "<no value>";
  if (v === null) return "<nil>";
  if (Array.isArray(v)) return `[${v.map(text).join(" ")}]`;
  if (typeof v === "object")
    return `map[${Object.entries(v as object)
      .map(([k, x]) => `${k}:${text(x)}`)
      .join(" ")}]`;
  return String(v);
}

function truthy(v: unknown): boolean {
  if (v === NO_VALUE || v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v as object).length > 0;
  return true;
}

function run(nodes: Node[], dot: unknown): string {
  let out = "";
  for (const n of nodes) {
    if (n.kind === "text") out += n.text;
    else if (n.kind === "expr") out += text(evaluate(n.expr, dot));
    else if (n.kind === "if") out += run(truthy(evaluate(n.expr, dot)) ? n.then : n.else, dot);
    else {
      const v = evaluate(n.expr, dot);
      const items = Array.isArray(v) ? v : v && typeof v === "object" ? Object.values(v) : [];
      for (const item of items) out += run(n.body, item);
    }
  }
  return out;
}

/** A parsed template, applied to one value at a time. */
export interface Template {
  /** True for docker's `table …` form. */
  table: boolean;
  /** Renders one value (without a trailing newline). */
  render(dot: unknown): string;
  /** The header row of a `table` template: each `{{.Field}}` as `FIELD`. */
  header(): string;
}

/** Parses `format` (Go template syntax as docker takes it). Throws {@link TemplateError}. */
export function parseTemplate(format: string): Template {
  const table = /^table(\s|$)/.test(format);
  const body = (table ? format.replace(/^table\s*/, "") : format).replace(/\\t/g, "\t").replace(/\\n/g, "\n");
  const nodes = parse(tokenize(body), { i: 0 }, []);
  return {
    table,
    render: (dot) => run(nodes, dot),
    header: () =>
      run(
        nodes.map((n) => (n.kind === "expr" ? { kind: "text", text: headerName(n.expr) } : n)) as Node[],
        {},
      ),
  };
}

function headerName(expr: string): string {
  const last = args(expr)
    .reverse()
    .find((w) => w.startsWith("."));
  const name = last ? last.slice(1).split(".").pop() || "" : expr;
  return name
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toUpperCase();
}

/**
 * Renders `rows` with `format` as docker does: a `table` template gets a header and aligned
 * columns (tab-separated cells padded like Go's tabwriter), any other template one line per row.
 */
export function renderRows(format: string, rows: readonly unknown[]): string {
  const t = parseTemplate(format);
  const lines = rows.map((r) => t.render(r));
  if (!t.table) return lines.map((l) => `${l}\n`).join("");
  const cells = [t.header(), ...lines].map((l) => l.split("\t"));
  const widths: number[] = [];
  for (const row of cells) for (const [i, c] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  return cells
    .map((row) =>
      row
        .map((c, i) => (i === row.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
        .join("")
        .trimEnd(),
    )
    .map((l) => `${l}\n`)
    .join("");
}
