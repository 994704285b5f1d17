import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isPierError } from "../../errors.js";
import { detectLayout, parseMountInfo, parseProcCgroup, readLayout } from "./mountinfo.js";

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
50 23 0:60 / /mnt/with\\040space rw - ext4 /dev/vda rw`;

describe("parseMountInfo", () => {
  it("reads the fields after the separator and unescapes octal", () => {
    const m = parseMountInfo(HYBRID);
    assert.equal(m.length, 6);
    assert.deepEqual(m[1], {
      root: "/",
      mountPoint: "/sys/fs/cgroup/cpu,cpuacct",
      fsType: "cgroup",
      superOptions: ["rw", "cpu", "cpuacct"],
    });
    assert.equal(m[5]?.mountPoint, "/mnt/with space");
  });
});

describe("detectLayout", () => {
  it("recognises a hybrid host and co-mounted subsystems", () => {
    const l = detectLayout(parseMountInfo(HYBRID));
    assert.equal(l.mode, "hybrid");
    assert.equal(l.unified?.mountPoint, "/sys/fs/cgroup/unified");
    assert.equal(l.v1.cpu?.mountPoint, "/sys/fs/cgroup/cpu,cpuacct");
    assert.equal(l.v1.cpuacct?.mountPoint, "/sys/fs/cgroup/cpu,cpuacct");
    assert.equal(l.v1["name=systemd"]?.mountPoint, "/sys/fs/cgroup/systemd");
    assert.equal(l.v1.xattr, undefined);
  });

  it("recognises a unified host, ignoring a name=systemd-only v1 mount", () => {
    const l = detectLayout(
      parseMountInfo(
        "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n31 23 0:27 / /run/x rw - cgroup cgroup rw,name=systemd",
      ),
    );
    assert.equal(l.mode, "unified");
    assert.equal(l.unified?.mountPoint, "/sys/fs/cgroup");
  });

  it("recognises a legacy host and prefers mounts under /sys/fs/cgroup", () => {
    const l = detectLayout(
      parseMountInfo(
        "1 0 0:1 /x /container/cg rw - cgroup cgroup rw,memory\n2 0 0:1 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
      ),
    );
    assert.equal(l.mode, "legacy");
    assert.deepEqual(l.v1.memory, { mountPoint: "/sys/fs/cgroup/memory", root: "/" });
  });

  it("fails clearly without any cgroup mount", () => {
    assert.throws(
      () => detectLayout(parseMountInfo("1 0 0:1 / / rw - ext4 /dev/vda rw")),
      (e: unknown) => isPierError(e, "NO_CGROUP_MOUNT"),
    );
  });

  it("reads this host's layout", async () => {
    const l = await readLayout();
    assert.ok(l.mode === "unified" || Object.keys(l.v1).length > 0);
  });
});

describe("parseProcCgroup", () => {
  it("splits co-mounted controllers and keeps the v2 line under the empty key", () => {
    assert.deepEqual(parseProcCgroup("4:memory:/a/b\n2:cpu,cpuacct:/c\n1:name=systemd:/d\n0::/e\n"), {
      memory: "/a/b",
      cpu: "/c",
      cpuacct: "/c",
      "name=systemd": "/d",
      "": "/e",
    });
  });
});
