/**
 * The small checks every runtime-spec validator applies to untrusted JSON (config.json,
 * `linux.resources`, `linux.seccomp`): each names the JSON path of the value it refuses, with an
 * `OciError` `INVALID_DOCUMENT`, so a user sees which field is wrong.
 */
import { OciError } from "../error.js";

/** Throws `INVALID_DOCUMENT` with the message `<path>: <problem>` and `detail.path`. */
export function invalidAt(path: string, problem: string): never {
  throw new OciError("INVALID_DOCUMENT", `${path}: ${problem}`, { detail: { path } });
}

/** True for a JSON object (not `null`, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `value` as a JSON object; else throws "must be an object" for `path`. */
export function objectAt(value: unknown, path: string): Record<string, unknown> {
  if (!isJsonObject(value)) invalidAt(path, "must be an object");
  return value;
}

/** `value` as an array; else throws "must be an array" for `path`. */
export function arrayAt(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) invalidAt(path, "must be an array");
  return value;
}

/** `value` as a string; else throws "must be a string" for `path`. */
export function stringAt(value: unknown, path: string): string {
  if (typeof value !== "string") invalidAt(path, "must be a string");
  return value;
}

/**
 * True when `obj` has its own `key` with a value other than `null`: Go decodes `null` into an
 * absent pointer or slice, so callers that marshal nil fields (some do, without omitempty) must
 * not be refused for it.
 */
export function present(obj: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(obj, key) && obj[key] !== undefined && obj[key] !== null;
}

/**
 * The largest id in a uid/gid mapping or a device's owner: ids are 32-bit in the kernel and
 * 2^32-1 is `(uid_t)-1`, which `setuid` refuses and `chown` reads as "leave unchanged".
 */
export const MAX_LINUX_ID = 2 ** 32 - 2;

/**
 * The largest uid or gid a container's process may run as (`process.user`, `exec --user`):
 * runc's limit ("uids and gids must be in range 0-2147483647"), which Docker's user lookup
 * shares.
 */
export const MAX_PROCESS_ID = 2 ** 31 - 1;

/**
 * `value` as a uid or gid (an integer in 0..`max`); else throws for `path`. A larger value would
 * wrap modulo 2^32 where it reaches the kernel: 2^32 would be root.
 */
export function linuxIdAt(value: unknown, path: string, max: number = MAX_LINUX_ID): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > max)
    invalidAt(path, `must be an integer between 0 and ${max}, got ${JSON.stringify(value)}`);
  return value as number;
}
