/**
 * `pier logs --since/--until` values as the docker CLI reads them: a Go duration before now
 * (`10m`, `1h30m`, `90s`), an RFC 3339 date-time, or unix seconds; sent to pierd as unix seconds.
 */
import { goDurationMs } from "../args.js";
import { EngineClientError } from "./engine-client.js";

/** Unix seconds (with a fraction) of a `--since`/`--until` value at `nowMs`. Pure. */
export function logTimeArg(text: string, nowMs = Date.now()): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const ago = goDurationMs(t);
  if (ago !== undefined) return (nowMs - ago) / 1000;
  const at = Date.parse(t);
  if (/^\d{4}-\d\d-\d\d/.test(t) && !Number.isNaN(at)) {
    const frac = /\.(\d+)/.exec(t);
    return Math.floor(at / 1000) + (frac ? Number(`0.${frac[1]}`) : 0);
  }
  throw new EngineClientError(
    "INVALID_ARGUMENT",
    `invalid time ${JSON.stringify(text)}: want a duration (10m), an RFC 3339 date-time or unix seconds`,
    0,
  );
}
