/** cgroup v1 `devices` controller: the device allow list, applied in order. */
import type { LinuxDeviceCgroup, LinuxResources } from "../../../oci/runtime-spec/resources.js";
import type { Controller } from "../controller.js";
import { v1DeviceRule } from "../convert.js";
import { type CgroupWrite, writeAll } from "../fs.js";

/**
 * Decides the v1 device writes: deny everything (`a` to `devices.deny`), then each rule in
 * order to `devices.allow` or `devices.deny`, as runc does. The result is exactly the list,
 * whatever the cgroup allowed before.
 */
export function planV1Devices(rules: readonly LinuxDeviceCgroup[]): CgroupWrite[] {
  return [
    { file: "devices.deny", value: "a" },
    ...rules.map((r) => ({ file: r.allow ? "devices.allow" : "devices.deny", value: v1DeviceRule(r) })),
  ];
}

/** The v1 devices controller; it acts only when `resources.devices` is given. */
export const v1Devices: Controller = {
  name: "devices",
  needed: (r: LinuxResources) => r.devices !== undefined,
  async apply(dir, r) {
    if (r.devices === undefined) return;
    await writeAll(dir, planV1Devices(r.devices));
  },
};
