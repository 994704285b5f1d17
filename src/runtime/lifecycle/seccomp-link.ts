/**
 * Compiles `linux.seccomp` for the helper with the seccomp compiler (`src/runtime/seccomp/`).
 */
import type { Spec } from "../../oci/runtime-spec/config.js";
import { validateLinuxSeccomp } from "../../oci/runtime-spec/seccomp.js";
import type { SeccompProgram } from "../plan/process-ops.js";
import { compileSeccompFilter } from "../seccomp/compile.js";

/** The filter program for `spec.linux.seccomp`, or undefined when the config has none. */
export function compileSeccompFor(spec: Spec, debug?: (m: string) => void): SeccompProgram | undefined {
  if (!spec.linux?.seccomp) return undefined;
  // The stored config keeps JSON numbers; the compiler wants the validated form (bigint values).
  const seccomp = validateLinuxSeccomp(spec.linux.seccomp);
  const compiled = compileSeccompFilter(seccomp, debug ? { debug } : {});
  return {
    flags: compiled.flags,
    bpf: compiled.program,
    ...(compiled.notify && seccomp.listenerPath ? { listenerPath: seccomp.listenerPath } : {}),
    ...(compiled.notify && seccomp.listenerMetadata !== undefined
      ? { listenerMetadata: seccomp.listenerMetadata }
      : {}),
  };
}
