/**
 * podman (Debian) driving pier-runtime through `--runtime`: run --rm, run -d + exec + stop + rm,
 * on a busybox image made offline with `podman import`. Test-private storage and state.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { pierRuntimeCommand, requireTool } from "../testing/runtime.js";

let tmp = "";
let podmanArgs: string[] = [];
let podman = "";
// The sandbox that runs the tests lacks CAP_SYS_RESOURCE, so podman's default rlimits (nofile
// 1048576) cannot be set by any runtime (crun fails the same way): ask for reachable ones.
const ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

before(async () => {
  podman = requireTool("podman", "podman");
  tmp = await makeTempDir("pier-podman-");
  const wrapper = join(tmp, "pier-runtime");
  const [cmd, pre] = pierRuntimeCommand([]);
  writeFileSync(wrapper, `#!/bin/sh\nexec ${[cmd, ...pre].join(" ")} "$@"\n`);
  chmodSync(wrapper, 0o755);
  podmanArgs = [
    "--root",
    join(tmp, "storage"),
    "--runroot",
    join(tmp, "run"),
    "--storage-driver",
    "vfs",
    "--cgroup-manager",
    "cgroupfs",
    "--events-backend",
    "file",
    "--runtime",
    wrapper,
  ];
  const rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
  execFileSync("tar", ["-C", rootfs, "-cf", join(tmp, "rootfs.tar"), "."]);
  execFileSync(podman, [...podmanArgs, "import", join(tmp, "rootfs.tar"), "localhost/pier-busybox:test"], {
    stdio: "ignore",
  });
});

after(async () => {
  if (podman && tmp) {
    spawnSync(podman, [...podmanArgs, "rm", "--all", "--force", "--time", "0"], { stdio: "ignore" });
    spawnSync(podman, [...podmanArgs, "system", "reset", "--force"], { stdio: "ignore" });
  }
  await removeTempDir(tmp);
});

const pm = (...args: string[]) =>
  spawnSync(podman, [...podmanArgs, ...args], { encoding: "utf8", timeout: 120000 });

test("podman run --rm with pier-runtime (podman's seccomp profile applied)", () => {
  const r = pm(
    "run",
    "--rm",
    "--network",
    "none",
    ...ULIMITS,
    "localhost/pier-busybox:test",
    "sh",
    "-c",
    "echo hello; grep Seccomp: /proc/self/status; id -u",
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^hello\nSeccomp:\s+2\n0\n$/);
  const code = pm(
    "run",
    "--rm",
    "--network",
    "none",
    ...ULIMITS,
    "localhost/pier-busybox:test",
    "sh",
    "-c",
    "exit 5",
  );
  assert.equal(code.status, 5);
});

test("podman run -d, exec, stop, rm with pier-runtime", () => {
  const name = `pier-${process.pid}`;
  const run = pm(
    "run",
    "-d",
    "--name",
    name,
    "--network",
    "none",
    ...ULIMITS,
    "localhost/pier-busybox:test",
    "sleep",
    "1000",
  );
  assert.equal(run.status, 0, run.stderr);
  const ps = pm("ps", "--format", "{{.Names}} {{.Status}}");
  assert.match(ps.stdout, new RegExp(`${name} Up`));
  const ex = pm("exec", name, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; id -u");
  assert.equal(ex.status, 0, ex.stderr);
  assert.equal(ex.stdout, "sleep 1000 \n0\n");
  assert.equal(pm("stop", "-t", "1", name).status, 0);
  assert.match(pm("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout, new RegExp(`${name} Exited`));
  assert.equal(pm("rm", name).status, 0);
  assert.doesNotMatch(pm("ps", "-a", "--format", "{{.Names}}").stdout, new RegExp(name));
});
