import assert from "node:assert/strict";
import { test } from "node:test";
import { MOUNT_ATTR, MS } from "./linux-constants.js";
import { parseMountOptions, rootfsPropagationFlags } from "./mount-options.js";

test("flags, clears, data and propagation are separated", () => {
  const o = parseMountOptions(["nosuid", "noexec", "mode=755", "size=65536k", "rw", "rprivate"]);
  assert.equal(o.flags, MS.NOSUID | MS.NOEXEC);
  assert.equal(o.data, "mode=755,size=65536k");
  assert.deepEqual(o.propagation, [MS.PRIVATE | MS.REC]);
  assert.equal(o.bind, false);
});

test("ro then rw clears the read-only flag; rbind is bind + rec", () => {
  assert.equal(parseMountOptions(["ro", "rw"]).flags, 0);
  const b = parseMountOptions(["rbind", "ro"]);
  assert.equal(b.flags, MS.BIND | MS.REC | MS.RDONLY);
  assert.equal(b.bind, true);
  assert.equal(parseMountOptions([], "bind").bind, true);
});

test("recursive r* options become mount_setattr attributes", () => {
  const o = parseMountOptions(["rbind", "rro", "rnosuid", "rnoatime"]);
  assert.equal(o.attrSet, MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NOATIME);
  assert.equal(o.attrClear & MOUNT_ATTR.ATIME_MASK, MOUNT_ATTR.ATIME_MASK);
  assert.equal(parseMountOptions(["rro", "rrw"]).attrClear, MOUNT_ATTR.RDONLY);
});

test("rootfs propagation defaults to rslave", () => {
  assert.equal(rootfsPropagationFlags(undefined), MS.SLAVE | MS.REC);
  assert.equal(rootfsPropagationFlags("shared"), MS.SHARED);
});
