import assert from "node:assert/strict";
import { release } from "node:os";
import { test } from "node:test";
import { kernelHasIdmap, pierRuntimeFeatures } from "./features.js";

test("idmapped mounts are reported where the kernel has mount_setattr (5.12+)", () => {
  assert.equal(kernelHasIdmap("5.11.22-generic"), false);
  assert.equal(kernelHasIdmap("5.12.0"), true);
  assert.equal(kernelHasIdmap("6.1.0-18-amd64"), true);
  assert.equal(pierRuntimeFeatures("5.10.0").linux.mountExtensions.idmap.enabled, false);
  // idmap_test.ts makes idmapped mounts on this kernel: the report must say so.
  assert.equal(pierRuntimeFeatures().linux.mountExtensions.idmap.enabled, kernelHasIdmap(release()));
});

test("features lists what the runtime does: idmap/ridmap options, the time namespace, cgroups", () => {
  const f = pierRuntimeFeatures();
  for (const o of ["idmap", "ridmap", "rbind", "rro"]) assert.ok(f.mountOptions.includes(o), o);
  assert.ok(f.linux.namespaces.includes("time"));
  assert.ok(f.linux.namespaces.includes("user"));
  assert.deepEqual(f.linux.cgroup, { v1: true, v2: true, systemd: false, systemdUser: false });
  assert.equal(f.linux.apparmor.enabled, false);
  assert.equal(f.linux.selinux.enabled, false);
});
