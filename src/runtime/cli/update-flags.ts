/**
 * The flags of `pier-runtime update` as runc has them (`--memory 64m`, `--cpu-quota`,
 * `--pids-limit`…), read into a runtime-spec `linux.resources` object; with `--resources FILE`
 * the file's object comes first and the flags override it, as in runc. Pure.
 */
import { type FlagDef, type ParsedArgs, str, UsageError } from "./args.js";

type Kind = "bytes" | "int" | "string";

/** runc's update flags: name, where it goes in `linux.resources`, and its kind. */
const FLAGS: readonly [string, string, string, Kind][] = [
  ["blkio-weight", "blockIO", "weight", "int"],
  ["cpu-period", "cpu", "period", "int"],
  ["cpu-quota", "cpu", "quota", "int"],
  ["cpu-burst", "cpu", "burst", "int"],
  ["cpu-share", "cpu", "shares", "int"],
  ["cpu-rt-period", "cpu", "realtimePeriod", "int"],
  ["cpu-rt-runtime", "cpu", "realtimeRuntime", "int"],
  ["cpuset-cpus", "cpu", "cpus", "string"],
  ["cpuset-mems", "cpu", "mems", "string"],
  ["kernel-memory", "memory", "kernel", "bytes"],
  ["kernel-memory-tcp", "memory", "kernelTCP", "bytes"],
  ["memory", "memory", "limit", "bytes"],
  ["memory-reservation", "memory", "reservation", "bytes"],
  ["memory-swap", "memory", "swap", "bytes"],
  ["pids-limit", "pids", "limit", "int"],
];

/** The flag definitions of `update` (with `--resources`/`-r`). */
export const UPDATE_FLAGS: readonly FlagDef[] = [
  { names: ["resources", "r"], value: true },
  ...FLAGS.map(([name]) => ({ names: [name], value: true })),
];

const UNITS: Record<string, number> = {
  "": 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

function value(flag: string, text: string, kind: Kind): number | string {
  if (kind === "string") return text;
  if (text === "-1") return -1;
  const m = kind === "bytes" ? /^(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?$/i.exec(text) : /^-?\d+$/.exec(text);
  if (!m) throw new UsageError(`invalid value for --${flag}: ${JSON.stringify(text)}`);
  return kind === "bytes"
    ? Math.round(Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] ?? 1))
    : Number(text);
}

/** True when any resource flag is given (`update` then needs no `--resources`). */
export function hasUpdateFlags(p: ParsedArgs): boolean {
  return FLAGS.some(([name]) => str(p, name) !== undefined);
}

/** The flags of `p` laid over `base` (the `--resources` object, or `{}`). Pure. */
export function resourcesFromUpdateFlags(p: ParsedArgs, base: unknown): Record<string, unknown> {
  const out: Record<string, Record<string, unknown>> = typeof base === "object" &&
  base !== null &&
  !Array.isArray(base)
    ? structuredClone(base as Record<string, Record<string, unknown>>)
    : {};
  for (const [name, section, field, kind] of FLAGS) {
    const text = str(p, name);
    if (text === undefined) continue;
    out[section] = { ...(out[section] ?? {}), [field]: value(name, text, kind) };
  }
  return out;
}
