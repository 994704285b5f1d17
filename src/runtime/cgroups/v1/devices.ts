/** cgroup v1 `devices` controller: the device allow list, applied in order. */
import type { LinuxDeviceCgroup, LinuxResources } from "../../../oci/runtime-spec/resources.js";
import type { Controller } from "../controller.js";
import { v1DeviceRule } from "../convert.js";
import { type CgroupWrite, readCgroupFile, writeAll } from "../fs.js";

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

/** A v1 device state as the kernel keeps it: default policy and `type major:minor` -> access. */
export interface V1DeviceState {
  defaultAllow: boolean;
  exceptions: Map<string, string>;
}

const ORDER = "rwm";
const bits = (access: string) => [...ORDER].filter((c) => access.includes(c)).join("");

/** Parses `devices.list`: `a *:* rwm` alone means allow-all; otherwise the allowed entries. */
export function parseDevicesList(text: string): V1DeviceState {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.includes("a *:* rwm")) return { defaultAllow: true, exceptions: new Map() };
  const exceptions = new Map<string, string>();
  for (const line of lines) {
    const sp = line.lastIndexOf(" ");
    exceptions.set(line.slice(0, sp), bits(line.slice(sp + 1)));
  }
  return { defaultAllow: false, exceptions };
}

/**
 * Runs `rules` the way the kernel would from a deny-all start (allow adds access to the exact
 * `type major:minor` entry, deny removes it, a type-`a` rule resets the policy), giving the
 * state the full rewrite of {@link planV1Devices} ends in.
 */
export function emulateDeviceRules(rules: readonly LinuxDeviceCgroup[]): V1DeviceState {
  const state: V1DeviceState = { defaultAllow: false, exceptions: new Map() };
  for (const r of rules) {
    const line = v1DeviceRule(r);
    if (line === "a") {
      state.defaultAllow = r.allow;
      state.exceptions.clear();
      continue;
    }
    const sp = line.lastIndexOf(" ");
    const key = line.slice(0, sp);
    const access = line.slice(sp + 1);
    const current = state.exceptions.get(key) ?? "";
    // In allow-all mode the kernel keeps denials as exceptions; only deny-all mode is diffed.
    const grant = r.allow !== state.defaultAllow;
    const next = grant
      ? bits(current + access)
      : bits([...current].filter((c) => !access.includes(c)).join(""));
    if (next) state.exceptions.set(key, next);
    else state.exceptions.delete(key);
  }
  return state;
}

/**
 * Decides the writes that take a cgroup from `currentList` (its `devices.list`) to `rules`.
 * When both are deny-all, only the differences are written, so a running container never
 * loses a device it keeps (a full rewrite denies everything for a moment, as runc's device
 * emulator also avoids). Otherwise it is the full rewrite.
 */
export function planV1DeviceUpdate(currentList: string, rules: readonly LinuxDeviceCgroup[]): CgroupWrite[] {
  const current = parseDevicesList(currentList);
  const target = emulateDeviceRules(rules);
  if (current.defaultAllow || target.defaultAllow) return planV1Devices(rules);
  const writes: CgroupWrite[] = [];
  for (const [key, access] of current.exceptions) {
    const keep = target.exceptions.get(key) ?? "";
    const drop = [...access].filter((c) => !keep.includes(c)).join("");
    if (drop) writes.push({ file: "devices.deny", value: `${key} ${drop}` });
  }
  for (const [key, access] of target.exceptions) {
    const have = current.exceptions.get(key) ?? "";
    const add = [...access].filter((c) => !have.includes(c)).join("");
    if (add) writes.push({ file: "devices.allow", value: `${key} ${add}` });
  }
  return writes;
}

/** The v1 devices controller; it acts only when `resources.devices` is given. */
export const v1Devices: Controller = {
  name: "devices",
  needed: (r: LinuxResources) => r.devices !== undefined,
  async apply(dir, r) {
    if (r.devices === undefined) return;
    await writeAll(dir, planV1DeviceUpdate(await readCgroupFile(dir, "devices.list"), r.devices));
  },
};
