/**
 * The device cgroup rules a container really gets, as runc computes them: everything denied,
 * then the config's own rules, then the devices every container needs (null, zero, full, tty,
 * random, urandom, ptmx, pts, tun, mknod of anything) and the config's `linux.devices`. Pure.
 */
import type { Spec } from "../../oci/runtime-spec/config.js";
import {
  type LinuxDeviceCgroup,
  type LinuxResources,
  validateLinuxResources,
} from "../../oci/runtime-spec/resources.js";

const rule = (
  type: "c" | "b",
  major: number | undefined,
  minor: number | undefined,
  access: string,
): LinuxDeviceCgroup => ({
  allow: true,
  type,
  ...(major !== undefined ? { major } : {}),
  ...(minor !== undefined ? { minor } : {}),
  access,
});

/** runc's allowed devices (libcontainer/specconv AllowedDevices). */
export const DEFAULT_DEVICE_RULES: readonly LinuxDeviceCgroup[] = [
  rule("c", undefined, undefined, "m"),
  rule("b", undefined, undefined, "m"),
  rule("c", 1, 3, "rwm"),
  rule("c", 1, 8, "rwm"),
  rule("c", 1, 7, "rwm"),
  rule("c", 5, 0, "rwm"),
  rule("c", 1, 5, "rwm"),
  rule("c", 1, 9, "rwm"),
  rule("c", 136, undefined, "rwm"),
  rule("c", 5, 2, "rwm"),
  rule("c", 10, 200, "rwm"),
];

/** `linux.resources` with the effective device rules (unchanged when `rootless`). */
export function effectiveResources(spec: Spec, rootless: boolean): LinuxResources {
  const resources: LinuxResources = validateLinuxResources(spec.linux?.resources ?? {});
  if (rootless) return resources;
  resources.devices = effectiveDeviceRules(spec, resources.devices ?? []);
  return resources;
}

/**
 * The whole device list for `rules` (the config's, or new ones from `update`): deny all, the
 * rules, then the devices every container needs and the config's `linux.devices`.
 */
export function effectiveDeviceRules(spec: Spec, rules: readonly LinuxDeviceCgroup[]): LinuxDeviceCgroup[] {
  const own = (spec.linux?.devices ?? [])
    .filter((d) => d.type === "c" || d.type === "b" || d.type === "u")
    .map((d) => rule(d.type === "b" ? "b" : "c", d.major, d.minor, "rwm"));
  return [{ allow: false, access: "rwm" }, ...rules, ...DEFAULT_DEVICE_RULES, ...own];
}
