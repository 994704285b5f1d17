/**
 * pier-runtime's own `features` document: the spec document filled with what this build does.
 */
import { type Features, runtimeFeatures } from "../oci/runtime-spec/features.js";
import { CAPABILITIES } from "./plan/linux-constants.js";
import { KNOWN_MOUNT_OPTIONS } from "./plan/mount-options.js";
import { seccompFeatures } from "./seccomp/features.js";

/** The features JSON of pier-runtime. */
export function pierRuntimeFeatures(): Features {
  return runtimeFeatures({
    mountOptions: KNOWN_MOUNT_OPTIONS,
    capabilities: Object.keys(CAPABILITIES),
    cgroups: true,
    seccomp: { ...seccompFeatures() },
  });
}
