/**
 * Reading and writing cgroup control files, with errors that name the file and the value.
 * The parsers of the kernel's file formats are pure and exported for tests.
 *
 * The calls are synchronous on purpose (here and in the rest of the runtime's start path):
 * cgroupfs, procfs and /run are in-memory file systems where a call takes microseconds, while a
 * thread-pool round trip per call cost milliseconds per container start in the runtime service.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isErrno } from "../../errors.js";
import { CgroupError } from "./error.js";

/** One control-file write of a plan: `value` goes into `dir/file` as a single write(2). */
export interface CgroupWrite {
  file: string;
  value: string;
}

/** Writes `value` to `dir/file`. Throws `CgroupError` `WRITE_FAILED` naming both, with the errno. */
export async function writeCgroupFile(dir: string, file: string, value: string): Promise<void> {
  const path = join(dir, file);
  try {
    // One write(2) per value: cgroupfs parses each write as one request.
    writeFileSync(path, value, { flag: "w" });
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new CgroupError("WRITE_FAILED", `cannot write ${JSON.stringify(value)} to ${path}: ${reason}`, {
      cause: err,
      detail: { path, value, errno: reason },
    });
  }
}

/** Applies a plan's writes in order; stops at the first failure. */
export async function writeAll(dir: string, writes: readonly CgroupWrite[]): Promise<void> {
  for (const w of writes) await writeCgroupFile(dir, w.file, w.value);
}

/** Reads `dir/file` as text. Throws `CgroupError` `READ_FAILED` (or `NOT_FOUND` for ENOENT). */
export async function readCgroupFile(dir: string, file: string): Promise<string> {
  const path = join(dir, file);
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const code = isErrno(err, "ENOENT") ? "NOT_FOUND" : "READ_FAILED";
    throw new CgroupError(code, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      cause: err,
    });
  }
}

/** Reads `dir/file`, or returns `undefined` when the file does not exist. */
export async function readOptional(dir: string, file: string): Promise<string | undefined> {
  try {
    return readFileSync(join(dir, file), "utf8");
  } catch (err) {
    if (isErrno(err, "ENOENT")) return undefined;
    throw new CgroupError("READ_FAILED", `cannot read ${join(dir, file)}: ${err}`, { cause: err });
  }
}

/** True when `dir/file` exists. */
export async function cgroupFileExists(dir: string, file: string): Promise<boolean> {
  return existsSync(join(dir, file));
}

/**
 * Parses a single-number file. `max` (v2's "no limit") becomes {@link UINT64_MAX}, as runc
 * reports it, so callers can compare it as a very large limit.
 */
export function parseCgroupNumber(text: string, what = "value"): number {
  const t = text.trim();
  if (t === "max") return UINT64_MAX;
  if (!/^-?\d+$/.test(t)) throw new CgroupError("READ_FAILED", `${what}: not a number: ${JSON.stringify(t)}`);
  return Number(t);
}

/** 2^64-1 as runc reports an unlimited value; rounds to 18446744073709551616 as a double. */
export const UINT64_MAX = 2 ** 64 - 1;

/** Parses a "flat keyed" file (`key value` per line, e.g. `memory.stat`, `cpu.stat`). */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [key, value, extra] = line.trim().split(/\s+/);
    if (!key || value === undefined || extra !== undefined) continue;
    out[key] = value === "max" ? UINT64_MAX : Number(value);
  }
  return out;
}

/**
 * Parses a "nested keyed" file (`8:0 rbytes=1 wbytes=2` per line, e.g. `io.stat`, `rdma.max`)
 * into the first field and its `key=value` pairs.
 */
export function parseNestedKeyed(text: string): Array<{ key: string; values: Record<string, number> }> {
  const out: Array<{ key: string; values: Record<string, number> }> = [];
  for (const line of text.split("\n")) {
    const [key, ...pairs] = line.trim().split(/\s+/);
    if (!key) continue;
    const values: Record<string, number> = {};
    for (const pair of pairs) {
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const v = pair.slice(eq + 1);
      values[pair.slice(0, eq)] = v === "max" ? UINT64_MAX : Number(v);
    }
    out.push({ key, values });
  }
  return out;
}
