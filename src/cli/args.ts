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
