/**
 * Compiles `linux.seccomp` for the helper through the seccomp compiler (`src/runtime/seccomp/`)
 * once it lands; until then a profile is reported and not applied.
 */
import type { Spec } from "../../oci/runtime-spec/config.js";
import type { SeccompProgram } from "../plan/process-ops.js";

/** The filter program for `spec.linux.seccomp`, or undefined when none can be applied. */
export async function compileSeccompFor(
  _spec: Spec,
  warn: (m: string) => void,
): Promise<SeccompProgram | undefined> {
  warn("linux.seccomp is not applied yet by pier-runtime (seccomp compiler not integrated)");
  return undefined;
}
