/** Parsers for command-line values shared by several commands. Each error names the flag. */
import { InvalidArgumentError } from "commander";

/** Collects a repeatable flag's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * Parses a command given on the command line: a JSON array (`'["/bin/sh","-c","echo hi"]'`,
 * as a Dockerfile's exec form) or words separated by spaces (`"/bin/sh -c date"`).
 */
export function parseCommand(value: string): string[] {
  const v = value.trim();
  if (v.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      throw new InvalidArgumentError(`not a valid JSON array: ${value}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string")) {
      throw new InvalidArgumentError(`must be a JSON array of strings: ${value}`);
    }
    return parsed;
  }
  return v === "" ? [] : v.split(/\s+/);
}

/** Parses `KEY=value` (a missing `=` is an error naming the value). */
export function parseKeyValue(value: string): [string, string] {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`expected KEY=value, got "${value}"`);
  return [value.slice(0, eq), value.slice(eq + 1)];
}

/** Collects repeatable `--label k=v` flags into a record. */
export function collectLabel(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const [k, v] = parseKeyValue(value);
  return { ...previous, [k]: v };
}

/** Collects repeatable `--env K=V` flags, checking the form. */
export function collectEnv(value: string, previous: string[] = []): string[] {
  parseKeyValue(value);
  return [...previous, value];
}

/** Parses a non-negative integer flag. */
export function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`must be a non-negative integer, not "${value}"`);
  return Number(value);
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

/** Milliseconds of a Go duration (`30s`, `1m30s`, `200ms`), or `undefined` when it is not one. Pure. */
export function goDurationMs(text: string): number | undefined {
  const t = text.trim();
  if (t === "0") return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(t)) return undefined;
  let ms = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

/** Parses a Go duration flag (`--health-interval 30s`) into milliseconds. */
export function parseDuration(value: string): number {
  const ms = goDurationMs(value);
  if (ms === undefined) throw new InvalidArgumentError(`not a duration (30s, 1m30s, 200ms): "${value}"`);
  return ms;
}
