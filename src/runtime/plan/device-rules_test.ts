import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultRuntimeSpec } from "../../oci/runtime-spec/default-spec.js";
import { DEFAULT_DEVICE_RULES, effectiveResources } from "./device-rules.js";

test("deny all, then the config's rules, runc's default devices and linux.devices", () => {
  const spec = defaultRuntimeSpec();
  if (spec.linux) spec.linux.devices = [{ type: "c", path: "/dev/fuse", major: 10, minor: 229 }];
  const r = effectiveResources(spec, false);
  assert.deepEqual(r.devices?.[0], { allow: false, access: "rwm" });
  assert.equal(r.devices?.length, 2 + DEFAULT_DEVICE_RULES.length + 1);
  assert.deepEqual(r.devices?.at(-1), { allow: true, type: "c", major: 10, minor: 229, access: "rwm" });
});

test("rootless containers keep the config's resources as they are", () => {
  const spec = defaultRuntimeSpec({ rootless: true });
  assert.equal(effectiveResources(spec, true).devices, undefined);
});
