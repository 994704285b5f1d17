/**
 * pier-runtime's own `features` document: the spec document filled with what this build does on
 * this kernel.
 */
import { release } from "node:os";
import { type Features, runtimeFeatures } from "../oci/runtime-spec/features.js";
import { CAPABILITIES } from "./plan/linux-constants.js";
import { KNOWN_MOUNT_OPTIONS } from "./plan/mount-options.js";
import { seccompFeatures } from "./seccomp/features.js";

/** True when kernel `version` (a `uname -r` string) has mount_setattr(MOUNT_ATTR_IDMAP): 5.12+. */
export function kernelHasIdmap(version: string): boolean {
  const [major = 0, minor = 0] = version.split(/[.-]/).map((p) => Number.parseInt(p, 10));
  return major > 5 || (major === 5 && minor >= 12);
}

/** The features JSON of pier-runtime. */
export function pierRuntimeFeatures(kernel: string = release()): Features {
  const f = runtimeFeatures({
    mountOptions: KNOWN_MOUNT_OPTIONS,
    capabilities: Object.keys(CAPABILITIES),
    cgroups: true,
    seccomp: { ...seccompFeatures() },
  });
  // Idmapped bind mounts (`idmap`, `ridmap`, a mount's uid/gidMappings) need mount_setattr.
  f.linux.mountExtensions.idmap.enabled = kernelHasIdmap(kernel);
  return f;
}
