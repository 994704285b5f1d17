/** Rendering helpers shared by every CLI command: tables, JSON, sizes. */
import { commandIo } from "./io.js";

/** Output formats a command can be asked for with `--format`. */
export type OutputFormat = "table" | "json";

/** Parses a `--format` value, refusing anything else by name. */
export function parseFormat(
  value: string | undefined,
  allowed: readonly OutputFormat[] = ["table", "json"],
): OutputFormat {
  const v = (value ?? "table") as OutputFormat;
  if (!allowed.includes(v)) throw new Error(`--format: must be one of ${allowed.join(", ")}, not "${value}"`);
  return v;
}

/** Writes a value as indented JSON and a newline. */
export function printJson(value: unknown, write: (text: string) => void = commandIo().stdout): void {
  write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Renders rows as a left-aligned table with upper-case headers, as docker's tables look. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("   ")
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join("\n") + "\n";
}

/** A byte count the way docker prints sizes (`1.23MB`, decimal units). */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v}B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${units[u]}`;
}

/** A short digest for tables: the first 12 hex characters. */
export function shortDigest(digest: string): string {
  const hex = digest.includes(":") ? digest.slice(digest.indexOf(":") + 1) : digest;
  return hex.slice(0, 12);
}
