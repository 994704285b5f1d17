/**
 * pier-runtime's own `features` document: the spec document filled with what this build does.
 */
import { type Features, runtimeFeatures } from "../oci/runtime-spec/features.js";
import { CAPABILITIES } from "./plan/linux-constants.js";
import { KNOWN_MOUNT_OPTIONS } from "./plan/mount-options.js";

/** Whether the cgroups and seccomp libraries are wired in (updated as they land). */
export const CGROUPS_INTEGRATED = false;
export const SECCOMP_INTEGRATED = false;

/** The features JSON of pier-runtime. */
export function pierRuntimeFeatures(): Features {
  return runtimeFeatures({
    mountOptions: KNOWN_MOUNT_OPTIONS,
    capabilities: Object.keys(CAPABILITIES),
    cgroups: CGROUPS_INTEGRATED,
    seccomp: SECCOMP_INTEGRATED,
  });
}
