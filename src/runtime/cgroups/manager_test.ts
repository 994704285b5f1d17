import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isPierError } from "../../errors.js";
import { openCgroup } from "./manager.js";
import type { CgroupLayout } from "./mountinfo.js";

const hybrid: CgroupLayout = {
  mode: "hybrid",
  unified: { mountPoint: "/sys/fs/cgroup/unified", root: "/" },
  v1: {
    cpu: { mountPoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/" },
    cpuacct: { mountPoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/" },
    memory: { mountPoint: "/sys/fs/cgroup/memory", root: "/" },
  },
};
const unified: CgroupLayout = {
  mode: "unified",
  unified: { mountPoint: "/sys/fs/cgroup", root: "/" },
  v1: {},
};

describe("openCgroup (no kernel: the layout is given)", () => {
  it("places a v1 cgroup in every hierarchy, plus the unified tree on hybrid hosts", async () => {
    const cg = await openCgroup({ containerId: "c1", layout: hybrid });
    assert.equal(cg.version, 1);
    assert.equal(cg.path, "/c1");
    assert.deepEqual(cg.paths, {
      cpu: "/sys/fs/cgroup/cpu,cpuacct/c1",
      cpuacct: "/sys/fs/cgroup/cpu,cpuacct/c1",
      memory: "/sys/fs/cgroup/memory/c1",
      unified: "/sys/fs/cgroup/unified/c1",
    });
  });

  it("reports an absolute path for a relative cgroupsPath when the runtime's cgroups agree", async () => {
    const same = { cpu: "/rt", cpuacct: "/rt", memory: "/rt", "": "/rt" };
    const cg = await openCgroup({
      containerId: "c",
      cgroupsPath: "pods/c",
      layout: hybrid,
      ownCgroups: same,
    });
    assert.equal(cg.path, "/rt/pods/c");
    const differ = { ...same, memory: "/other" };
    const cg2 = await openCgroup({
      containerId: "c",
      cgroupsPath: "pods/c",
      layout: hybrid,
      ownCgroups: differ,
    });
    assert.equal(cg2.path, "pods/c");
    assert.equal(cg2.paths.memory, "/sys/fs/cgroup/memory/other/pods/c");
  });

  it("reopens from stored paths, and refuses paths outside their mount", async () => {
    const differ = { cpu: "/rt", cpuacct: "/rt", memory: "/other", "": "/rt" };
    const cg = await openCgroup({
      containerId: "c",
      cgroupsPath: "pods/c",
      layout: hybrid,
      ownCgroups: differ,
    });
    const again = await openCgroup({ containerId: "c", layout: hybrid, paths: cg.paths });
    assert.deepEqual(again.paths, cg.paths);
    await assert.rejects(
      openCgroup({
        containerId: "c",
        layout: hybrid,
        paths: { memory: "/sys/fs/cgroup/memory/../../../etc" },
      }),
      (e: unknown) => isPierError(e, "INVALID_PATH"),
    );
    const v2 = await openCgroup({
      containerId: "c",
      layout: unified,
      paths: { unified: "/sys/fs/cgroup/a/b" },
    });
    assert.equal(v2.path, "/a/b");
  });

  it("uses the v2 manager on unified hosts", async () => {
    const cg = await openCgroup({ containerId: "c1", cgroupsPath: "/machine/c1", layout: unified });
    assert.equal(cg.version, 2);
    assert.deepEqual(cg.paths, { unified: "/sys/fs/cgroup/machine/c1" });
  });
});

describe("create leaves nothing behind when it fails", () => {
  it("v1: removes the directories it made in earlier hierarchies", async () => {
    const root = await mkdtemp(join(tmpdir(), "pier-cg-rollback-"));
    try {
      // Plain directories stand in for the mounts: mkdir works, the cpuset copy-down cannot.
      for (const d of ["memory", "cpuset"]) await mkdir(join(root, d));
      const layout: CgroupLayout = {
        mode: "legacy",
        v1: {
          memory: { mountPoint: join(root, "memory"), root: "/" },
          cpuset: { mountPoint: join(root, "cpuset"), root: "/" },
        },
      };
      const cg = await openCgroup({ containerId: "c", cgroupsPath: "/a/b", layout });
      await assert.rejects(cg.create(), (e: unknown) => isPierError(e));
      assert.ok(!existsSync(join(root, "memory", "a")), "memory/a removed");
      assert.ok(!existsSync(join(root, "cpuset", "a")), "cpuset/a removed");
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("v2: removes the directory when delegation fails", async () => {
    const root = await mkdtemp(join(tmpdir(), "pier-cg-rollback-"));
    try {
      const layout: CgroupLayout = { mode: "unified", unified: { mountPoint: root, root: "/" }, v1: {} };
      const cg = await openCgroup({ containerId: "c", cgroupsPath: "/a/b", layout });
      await assert.rejects(cg.create(), (e: unknown) => isPierError(e));
      assert.ok(!existsSync(join(root, "a")));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("v1 on a hybrid host: an unusable cgroup2 tree is dropped with a note, not fatal", async () => {
    const root = await mkdtemp(join(tmpdir(), "pier-cg-hybrid-"));
    try {
      await mkdir(join(root, "memory"));
      await writeFile(join(root, "not-a-dir"), "");
      const layout: CgroupLayout = {
        mode: "hybrid",
        unified: { mountPoint: join(root, "not-a-dir"), root: "/" },
        v1: { memory: { mountPoint: join(root, "memory"), root: "/" } },
      };
      const cg = await openCgroup({ containerId: "c", cgroupsPath: "/a", layout });
      await cg.create();
      assert.ok(existsSync(join(root, "memory", "a")));
      assert.match(cg.notes.join("\n"), /using cgroup v1 only/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
