/**
 * Cgroup hierarchies mounted twice (CRIU's temporary "cgyard" mounts while it dumps, a bind
 * elsewhere): a container gets each hierarchy once, from /sys/fs/cgroup. A benchmark's `create`
 * failed with "bind mount …/.criu.cgyard.…/pids/ on sys/fs/cgroup/pids: No such file or
 * directory" when another process's cgyard had vanished between the plan and its mount.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { CLI_PATH, scriptSpec, writeBundle } from "../testing/runtime.js";
import { cgroupMountsIn, hostCgroupMounts } from "./host-facts.js";

const line = (id: number, mountpoint: string, fstype: string, superOptions: string) =>
  `${id} 25 0:${id} / ${mountpoint} rw,nosuid,nodev,noexec,relatime shared:${id} - ${fstype} ${fstype} ${superOptions}`;

test("cgroupMountsIn: a hierarchy mounted twice is listed once, at its /sys/fs/cgroup mount", () => {
  const text = [
    line(40, "/tmp/sysx/.criu.cgyard.wG1QZr/pids", "cgroup", "rw,pids"),
    line(36, "/sys/fs/cgroup/pids", "cgroup", "rw,pids"),
    line(37, "/sys/fs/cgroup/memory", "cgroup", "rw,memory"),
    line(41, "/tmp/sysx/.criu.cgyard.wG1QZr/memory", "cgroup", "rw,memory"),
    line(38, "/sys/fs/cgroup/unified", "cgroup2", "rw,nsdelegate"),
    line(42, "/tmp/elsewhere/unified", "cgroup2", "rw"),
    line(43, "/tmp/only-here/net_cls", "cgroup", "rw,net_cls"),
  ].join("\n");
  const mounts = cgroupMountsIn(text, [
    "/sys/fs/cgroup/pids/pier/c1",
    "/tmp/sysx/.criu.cgyard.wG1QZr/memory/x",
  ]);
  assert.deepEqual(
    mounts.map((m) => [m.fstype, m.options, m.mountpoint, m.containerPath]),
    [
      ["cgroup", "pids", "/sys/fs/cgroup/pids", "/pier/c1"],
      ["cgroup", "memory", "/sys/fs/cgroup/memory", undefined],
      ["cgroup2", "", "/sys/fs/cgroup/unified", undefined],
      // A hierarchy mounted only elsewhere is still one the host has.
      ["cgroup", "net_cls", "/tmp/only-here/net_cls", undefined],
    ],
  );
});

let tmp = "";
let bundle = "";

before(async () => {
  tmp = await makeTempDir("pier-rt-cgdup-");
  const rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
  bundle = await writeBundle(
    join(tmp, "bundle"),
    scriptSpec("grep -c ' /sys/fs/cgroup/pids ' /proc/self/mountinfo"),
    rootfs,
  );
});

after(() => removeTempDir(tmp));

test("a second mount of the pids hierarchy: pier-runtime mounts pids once in the container (real kernel)", (ctx) => {
  if (!existsSync("/sys/fs/cgroup/pids/cgroup.procs")) {
    ctx.skip("no cgroup v1 pids hierarchy at /sys/fs/cgroup/pids on this host");
    return;
  }
  // In a private mount namespace (other tests never see the extra mount): mount pids again, list
  // the hierarchies as the runtime does, then run a container with the one-process runtime (a
  // resident service would live in the host's namespace).
  // Named as CRIU names its yard's mounts: the container's mount would land on sys/fs/cgroup/pids.
  const dup = join(tmp, ".criu.cgyard.test", "pids");
  const facts = new URL("./host-facts.js", import.meta.url).href;
  const script = [
    `mkdir -p '${dup}'`,
    `mount -t cgroup -o pids pier-test-dup '${dup}'`,
    `'${process.execPath}' --input-type=module -e "const { hostCgroupMounts } = await import('${facts}'); console.log(JSON.stringify(hostCgroupMounts().filter((m) => m.options === 'pids').map((m) => m.mountpoint)))"`,
    `'${process.execPath}' '${CLI_PATH}' --root '${join(tmp, "state")}' run --bundle '${bundle}' cgdup-${process.pid}`,
  ].join(" && ");
  const r = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", script], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const [listed, inContainer] = r.stdout.trim().split("\n");
  assert.deepEqual(JSON.parse(listed!), ["/sys/fs/cgroup/pids"]);
  assert.equal(inContainer, "1", `pids mounts in the container: ${inContainer}`);
  // And the host's own list has each hierarchy once.
  const keys = hostCgroupMounts().map((m) => `${m.fstype} ${m.options}`);
  assert.equal(new Set(keys).size, keys.length, keys.join("; "));
});
