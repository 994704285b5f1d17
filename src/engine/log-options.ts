/**
 * The json-file log driver's options (`docker run --log-opt max-size=10m --log-opt max-file=3`,
 * Docker API `HostConfig.LogConfig`): validation with Docker's messages and the rotation they ask
 * of the monitor.
 */
import { EngineError } from "./error.js";

/** What the monitor does with a container's log. */
export interface LogRotation {
  /** Rotate before writing to a log of at least this many bytes. */
  maxSize: number;
  /** Files kept, the live log included (1: the log is truncated). */
  maxFiles: number;
}

const UNITS: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

/**
 * Bytes of a human size as Docker's `units.FromHumanSize` reads it (decimal: `1k` is 1000;
 * `10m`, `1.5MB`, `2KiB` all allowed). Throws `INVALID_ARGUMENT`. Pure.
 */
export function parseHumanSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(text.trim());
  if (!m) throw new EngineError("INVALID_ARGUMENT", `invalid size: '${text}'`);
  return Math.floor(Number(m[1]) * UNITS[(m[2] ?? "").toLowerCase()]!);
}

/**
 * Validates a LogConfig (`type`, `config`) and returns its options as strings (what inspect
 * shows). Only the json-file driver exists; its `max-size` and `max-file` are honoured and any
 * other option is refused by name rather than ignored. Pure.
 */
export function checkLogConfig(type: unknown, config: unknown): Record<string, string> {
  if (type !== undefined && type !== null && type !== "" && type !== "json-file")
    throw new EngineError(
      "INVALID_ARGUMENT",
      `logging driver ${JSON.stringify(type)} is not supported by pier (only json-file)`,
    );
  if (config === undefined || config === null) return {};
  if (typeof config !== "object" || Array.isArray(config))
    throw new EngineError("INVALID_ARGUMENT", "log options must map strings to strings");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
    if (typeof v !== "string") throw new EngineError("INVALID_ARGUMENT", `log option ${k} must be a string`);
    if (k !== "max-size" && k !== "max-file")
      throw new EngineError("INVALID_ARGUMENT", `unknown log opt '${k}' for json-file log driver`);
    out[k] = v;
  }
  logRotation(out);
  return out;
}

/** The rotation that validated options ask for; `undefined` without `max-size`. Pure. */
export function logRotation(opts: Readonly<Record<string, string>> | undefined): LogRotation | undefined {
  if (!opts) return undefined;
  let maxFiles = 1;
  if (opts["max-file"] !== undefined) {
    if (!/^-?\d+$/.test(opts["max-file"]))
      throw new EngineError("INVALID_ARGUMENT", `invalid max-file: '${opts["max-file"]}'`);
    maxFiles = Number(opts["max-file"]);
    if (maxFiles < 1) throw new EngineError("INVALID_ARGUMENT", "max-file cannot be less than 1");
  }
  // As in Docker, max-file alone is accepted and changes nothing: without a size nothing rotates.
  if (opts["max-size"] === undefined) return undefined;
  const maxSize = parseHumanSize(opts["max-size"]);
  if (maxSize <= 0) throw new EngineError("INVALID_ARGUMENT", "max-size must be a positive number");
  return { maxSize, maxFiles };
}
