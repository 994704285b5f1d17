import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isPierError } from "../../errors.js";
import { hierarchyDir } from "./manager.js";
import { cleanCgroupPath, expandSlice, resolveCgroupPath, systemdCgroupPath } from "./path.js";

const invalid = (e: unknown) => isPierError(e, "INVALID_PATH");

describe("resolveCgroupPath", () => {
  it("defaults to /<id>", () => {
    assert.deepEqual(resolveCgroupPath({ containerId: "abc" }), { path: "/abc", relative: false, notes: [] });
  });
  it("keeps absolute and relative paths, normalised", () => {
    assert.equal(resolveCgroupPath({ containerId: "x", cgroupsPath: "/a//b/./c/" }).path, "/a/b/c");
    assert.deepEqual(resolveCgroupPath({ containerId: "x", cgroupsPath: "pods/c1" }), {
      path: "pods/c1",
      relative: true,
      notes: [],
    });
  });
  it("refuses paths that leave the hierarchy or name the root", () => {
    assert.throws(() => resolveCgroupPath({ containerId: "x", cgroupsPath: "/a/../../etc" }), invalid);
    assert.throws(() => resolveCgroupPath({ containerId: "x", cgroupsPath: "../x" }), invalid);
    assert.throws(() => cleanCgroupPath("/"), invalid);
    assert.throws(() => resolveCgroupPath({ containerId: "a/b" }), invalid);
  });
  it("translates the systemd form and notes the cgroupfs fallback", () => {
    const r = resolveCgroupPath({ containerId: "x", cgroupsPath: "machine.slice:libpod:abc", systemd: true });
    assert.equal(r.path, "/machine.slice/libpod-abc.scope");
    assert.match(r.notes[0] ?? "", /systemd is not running/);
    assert.equal(resolveCgroupPath({ containerId: "c1", systemd: true }).path, "/system.slice/pier-c1.scope");
    assert.throws(
      () => resolveCgroupPath({ containerId: "x", cgroupsPath: "/plain/path", systemd: true }),
      invalid,
    );
  });
});

describe("systemd names", () => {
  it("expands slices as systemd does", () => {
    assert.equal(expandSlice("a-b-c.slice"), "/a.slice/a-b.slice/a-b-c.slice");
    assert.equal(expandSlice("-.slice"), "/");
    assert.throws(() => expandSlice("a--b.slice"), invalid);
    assert.throws(() => expandSlice("nope"), invalid);
  });
  it("names scopes and nested slices", () => {
    assert.equal(systemdCgroupPath(":docker:abc"), "/system.slice/docker-abc.scope");
    assert.equal(systemdCgroupPath("user-1000.slice::abc"), "/user.slice/user-1000.slice/abc.scope");
    assert.equal(systemdCgroupPath("a.slice:x:b.slice"), "/a.slice/b.slice");
  });
});

describe("hierarchyDir", () => {
  const mount = { mountPoint: "/sys/fs/cgroup/memory", root: "/" };
  it("joins absolute paths to the mount and relative ones to the runtime's own cgroup", () => {
    assert.equal(hierarchyDir(mount, "/a/b", false, "/own"), "/sys/fs/cgroup/memory/a/b");
    assert.equal(hierarchyDir(mount, "a/b", true, "/own"), "/sys/fs/cgroup/memory/own/a/b");
  });
  it("strips the part of the own path that the mount's root hides", () => {
    assert.equal(
      hierarchyDir({ mountPoint: "/cg", root: "/kubepods" }, "c", true, "/kubepods/pod1"),
      "/cg/pod1/c",
    );
  });
});
