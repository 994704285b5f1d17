/**
 * A small runc-style argument parser (urfave/cli conventions: `--flag value`, `--flag=value`,
 * `-f value`, single-dash long names, repeatable flags, flags before positional arguments). Kept
 * dependency-free so that `pier-runtime` starts fast. Pure.
 */

/** A flag definition: its names, and whether it takes a value (and may repeat). */
export interface FlagDef {
  names: readonly string[];
  value?: boolean;
  repeat?: boolean;
}

/** Parsed flags (by first name) and positional arguments. */
export interface ParsedArgs {
  flags: Record<string, string | string[] | boolean>;
  positional: string[];
}

/** Thrown for bad usage; the CLI prints it and exits 1. */
export class UsageError extends Error {}

/**
 * Parses `argv` against `defs`. Stops at the first positional argument when `stopAtPositional`
 * (so `exec ID sh -c …` keeps the command's own flags) or at `--`.
 */
export function parseArgs(
  argv: readonly string[],
  defs: readonly FlagDef[],
  stopAtPositional = false,
): ParsedArgs {
  const byName = new Map<string, FlagDef>();
  for (const d of defs) for (const n of d.names) byName.set(n, d);
  const flags: ParsedArgs["flags"] = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("-") && a !== "-") {
      let name = a.replace(/^--?/, "");
      let value: string | undefined;
      const eq = name.indexOf("=");
      if (eq >= 0) {
        value = name.slice(eq + 1);
        name = name.slice(0, eq);
      }
      const def = byName.get(name);
      if (!def) throw new UsageError(`flag provided but not defined: -${name}`);
      const key = def.names[0] as string;
      if (def.value) {
        if (value === undefined) {
          if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
          value = argv[++i] as string;
        }
        if (def.repeat) {
          const prev = flags[key];
          flags[key] = [...(Array.isArray(prev) ? prev : []), value];
        } else flags[key] = value;
      } else {
        flags[key] = value === undefined ? true : value !== "false";
      }
      continue;
    }
    positional.push(a);
    if (stopAtPositional) {
      positional.push(...argv.slice(i + 1));
      break;
    }
  }
  return { flags, positional };
}

/** A string flag's value. */
export function str(p: ParsedArgs, key: string): string | undefined {
  const v = p.flags[key];
  return typeof v === "string" ? v : undefined;
}

/** A repeatable flag's values. */
export function list(p: ParsedArgs, key: string): string[] {
  const v = p.flags[key];
  return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
}

/** A boolean flag's value. */
export function bool(p: ParsedArgs, key: string): boolean {
  return p.flags[key] === true;
}
