/**
 * Reading decoded CRI messages (see `proto.ts`: unset fields are absent) with their types
 * checked, and the refusal of any field pier does not apply: a request that sets one is
 * answered `INVALID_ARGUMENT` naming it, never half-applied. Pure.
 */
import { CriError } from "./error.js";
import type { Message } from "./grpc.js";

/** A string field ("" when unset). */
export function str(m: Message | undefined, key: string): string {
  const v = m?.[key];
  return typeof v === "string" ? v : "";
}

/** A number field, 64-bit ones included (0 when unset); `INVALID_ARGUMENT` past 2^53. */
export function num(m: Message | undefined, key: string): number {
  const v = m?.[key];
  if (v === undefined || v === null) return 0;
  const n = typeof v === "string" ? Number(v) : (v as number);
  if (!Number.isSafeInteger(n))
    throw new CriError("INVALID_ARGUMENT", `${key}: ${String(v)} is out of range`);
  return n;
}

/** A bool field (false when unset). */
export function bool(m: Message | undefined, key: string): boolean {
  return m?.[key] === true;
}

/** A message field (undefined when unset). */
export function msg(m: Message | undefined, key: string): Message | undefined {
  const v = m?.[key];
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Message) : undefined;
}

/** A repeated message field ([] when unset). */
export function msgs(m: Message | undefined, key: string): Message[] {
  const v = m?.[key];
  return Array.isArray(v) ? (v as Message[]) : [];
}

/** A repeated string field ([] when unset). */
export function strs(m: Message | undefined, key: string): string[] {
  const v = m?.[key];
  return Array.isArray(v) ? v.map(String) : [];
}

/** A `map<string, string>` field ({} when unset). */
export function strMap(m: Message | undefined, key: string): Record<string, string> {
  const v = msg(m, key);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v ?? {})) out[k] = String(val);
  return out;
}

/** True for a value proto3 would not have sent (a client may still send one). */
function isDefault(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "" || v === "0") return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.values(v as object).every(isDefault);
  return false;
}

/**
 * Throws `INVALID_ARGUMENT` naming the first field of `m` (dotted path from `path`) that is set
 * to something other than its default while neither it nor a parent is in `applied` (a nested
 * message is walked down to the field that is set).
 */
export function refuseUnapplied(m: Message | undefined, path: string, applied: ReadonlySet<string>): void {
  for (const [key, value] of Object.entries(m ?? {})) {
    const p = `${path}.${key}`;
    if (applied.has(p) || isDefault(value)) continue;
    // A nested message is walked so that the error names the field itself, not its parent.
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      refuseUnapplied(value as Message, p, applied);
      continue;
    }
    throw new CriError(
      "INVALID_ARGUMENT",
      `${p} is not supported by pier (set to ${JSON.stringify(value).slice(0, 200)}): refused rather than ignored`,
    );
  }
}

/** Nanoseconds since the epoch of an ISO time, as the decimal string an int64 field takes ("0" for none). */
export function nanos(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms) || ms <= 0) return "0";
  return (BigInt(ms) * 1_000_000n).toString();
}
