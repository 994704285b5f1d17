import assert from "node:assert/strict";
import { test } from "node:test";
import { idMapOps, writableByCaller } from "./user-namespace.js";

const own = [{ containerID: 0, hostID: 1001, size: 1 }];
const ranges = [...own, { containerID: 1, hostID: 100000, size: 65536 }];
const helpers = { newuidmap: "/usr/bin/newuidmap", newgidmap: "/usr/bin/newgidmap" };

test("writableByCaller: root always; a user only for one line of its own id", () => {
  assert.equal(writableByCaller(ranges, 0, 0), true);
  assert.equal(writableByCaller(own, 1001, 1001), true);
  assert.equal(writableByCaller(own, 1002, 1002), false);
  assert.equal(writableByCaller(ranges, 1001, 1001), false);
  assert.equal(writableByCaller([{ containerID: 0, hostID: 1001, size: 2 }], 1001, 1001), false);
});

test("idMapOps: a user's own id is written directly with setgroups denied", () => {
  const r = idMapOps(own, own, { euid: 1001, egid: 1001, idMapHelpers: helpers });
  assert.deepEqual(
    r.ops.map((o) => o.op),
    ["uidmap", "gidmap", "setgroups"],
  );
  assert.equal(r.setgroupsDenied, true);
});

test("idMapOps: ranges go through newuidmap/newgidmap, which decide setgroups", () => {
  const r = idMapOps(ranges, ranges, { euid: 1001, egid: 1001, idMapHelpers: helpers });
  assert.deepEqual(r.ops[2], {
    op: "newuidmap",
    args: [helpers.newuidmap, "0", "1001", "1", "1", "100000", "65536"],
  });
  assert.deepEqual(r.ops[3], {
    op: "newgidmap",
    args: [helpers.newgidmap, "0", "1001", "1", "1", "100000", "65536"],
  });
  assert.equal(r.setgroupsDenied, false);
});

test("idMapOps: root writes every mapping itself", () => {
  const r = idMapOps(ranges, ranges, { euid: 0 });
  assert.deepEqual(
    r.ops.map((o) => o.op),
    ["uidmap", "gidmap"],
  );
});

test("idMapOps: ranges without newuidmap installed are refused naming the package", () => {
  assert.throws(
    () => idMapOps(ranges, own, { euid: 1001, egid: 1001 }),
    /newuidmap \(Debian package uidmap\)/,
  );
  assert.throws(
    () => idMapOps(own, ranges, { euid: 1001, egid: 1001, idMapHelpers: { newuidmap: "/x" } }),
    /newgidmap/,
  );
});
