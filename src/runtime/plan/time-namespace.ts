/**
 * `linux.timeOffsets` (config-linux.md, time_namespaces(7)): checked and turned into the text
 * written to `/proc/self/timens_offsets` of a new time namespace. Pure.
 */
import type { Spec } from "../../oci/runtime-spec/config.js";
import { RuntimeError } from "../error.js";

/** The clocks a time namespace can offset. */
export const TIME_NAMESPACE_CLOCKS = ["monotonic", "boottime"] as const;

/**
 * The `timens_offsets` text (`<clock> <secs> <nanosecs>` lines) for `spec`; throws
 * `INVALID_CONFIG` naming the field for an unknown clock, an out-of-range value, or offsets
 * without a new time namespace (as runc refuses them).
 */
export function timeOffsetsText(spec: Spec, newTimeNs: boolean): string {
  const offsets = spec.linux?.timeOffsets ?? {};
  const entries = Object.entries(offsets);
  if (entries.length > 0 && !newTimeNs)
    throw new RuntimeError(
      "INVALID_CONFIG",
      "linux.timeOffsets: time namespace offsets specified, but no new time namespace is in linux.namespaces",
    );
  return entries
    .map(([clock, o]) => {
      const at = `linux.timeOffsets.${clock}`;
      if (!(TIME_NAMESPACE_CLOCKS as readonly string[]).includes(clock))
        throw new RuntimeError("INVALID_CONFIG", `${at}: unknown clock (monotonic or boottime)`);
      const secs = o.secs ?? 0;
      const nanosecs = o.nanosecs ?? 0;
      if (!Number.isSafeInteger(secs))
        throw new RuntimeError("INVALID_CONFIG", `${at}.secs: must be an integer`);
      if (!Number.isInteger(nanosecs) || nanosecs < 0 || nanosecs > 999_999_999)
        throw new RuntimeError("INVALID_CONFIG", `${at}.nanosecs: must be an integer from 0 to 999999999`);
      return `${clock} ${secs} ${nanosecs}`;
    })
    .join("\n");
}
