/**
 * The Docker API's ways into the runtime's hardening, with the stock docker CLI: `--sysctl` gets
 * the runtime's sysctl rules at create (host-global keys, net.* with `--network host`), and user
 * ids that would wrap modulo 2^32 to root (`-u 4294967296`) are refused by run and exec. And a
 * pierd whose root is reached through a symlink still runs containers (it takes the real path).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import {
  type BusyboxRegistry,
  docker,
  runCommand,
  startTestDaemon,
  type TestDaemon,
  useTestDaemon,
} from "../../testing/engine.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
useTestDaemon({
  pull: true,
  ready: (fx) => {
    ({ reg, d } = fx);
  },
});

const hostValue = (path: string) => readFileSync(`/proc/sys/${path}`, "utf8");

test("docker run --sysctl: namespaced keys apply inside the container only", async () => {
  const forward = hostValue("net/ipv4/ip_forward").trim() === "1" ? "0" : "1";
  const host = [hostValue("kernel/shmmax"), hostValue("net/ipv4/ip_forward")];
  const r = await docker(d, [
    "run",
    "--rm",
    "--sysctl",
    "kernel.shmmax=100000",
    "--sysctl",
    `net.ipv4.ip_forward=${forward}`,
    reg.image,
    "cat",
    "/proc/sys/kernel/shmmax",
    "/proc/sys/net/ipv4/ip_forward",
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `100000\n${forward}\n`);
  assert.deepEqual([hostValue("kernel/shmmax"), hostValue("net/ipv4/ip_forward")], host);
});

test("docker run --sysctl: host-global keys, and net.* in the host's network, are refused at create", async () => {
  const before = (await docker(d, ["ps", "-aq"])).stdout;
  const burst = hostValue("kernel/printk_ratelimit_burst");
  // The docker CLI refuses a non-namespaced --sysctl itself: the API gets it directly.
  const body = JSON.stringify({
    Image: reg.image,
    Cmd: ["true"],
    HostConfig: { Sysctls: { "kernel.printk_ratelimit_burst": String(Number(burst) + 1) } },
  });
  const global = await runCommand("curl", [
    "-s",
    "-w",
    "\\n%{http_code}",
    "--unix-socket",
    d.dockerSocket,
    "-H",
    "Content-Type: application/json",
    "-d",
    body,
    "http://localhost/v1.41/containers/create",
  ]);
  assert.match(global.stdout, /\n400$/);
  assert.match(
    global.stdout,
    /sysctl \\"kernel\.printk_ratelimit_burst\\" is not in a separate kernel namespace/,
  );
  assert.equal(hostValue("kernel/printk_ratelimit_burst"), burst);
  const hostNet = await docker(d, [
    "run",
    "--rm",
    "--network",
    "host",
    "--sysctl",
    "net.ipv4.ip_forward=0",
    reg.image,
    "true",
  ]);
  assert.notEqual(hostNet.status, 0);
  assert.match(
    hostNet.stderr,
    /sysctl "net\.ipv4\.ip_forward" is not allowed in the host's network namespace/,
  );
  assert.equal((await docker(d, ["ps", "-aq"])).stdout, before, "no container is left behind");
});

test("docker run -u and exec -u refuse ids that would wrap to root", async () => {
  const run = await docker(d, ["run", "--rm", "-u", "4294967296", reg.image, "id", "-u"]);
  assert.notEqual(run.status, 0, `ran as ${run.stdout}`);
  assert.match(run.stderr, /user id 4294967296 is out of range/);
  const group = await docker(d, ["run", "--rm", "-u", "0:4294967296", reg.image, "id", "-g"]);
  assert.notEqual(group.status, 0, `ran as ${group.stdout}`);
  assert.match(group.stderr, /group id 4294967296 is out of range/);
  const c = await docker(d, ["run", "-d", reg.image, "sleep", "60"]);
  assert.equal(c.status, 0, c.stderr);
  const id = c.stdout.trim();
  const exec = await docker(d, ["exec", "-u", "4294967296", id, "id", "-u"]);
  assert.notEqual(exec.status, 0, `ran as ${exec.stdout}`);
  // A numeric user goes to the runtime's exec --user as is.
  assert.match(exec.stderr, /uid 4294967296 is out of range/);
  await docker(d, ["rm", "-f", id]);
});

test("a pierd whose --root is reached through a symlink takes the real path, and runs containers", async () => {
  // The runtime refuses a rootfs path through a symlink (as runc): pierd resolves its root, as dockerd.
  const dir = await makeTempDir("pier-engine-symroot-");
  symlinkSync(dir, join(dir, "link"));
  const d2 = await startTestDaemon(["--root", join(dir, "link", "root")]);
  try {
    const r = await docker(d2, ["run", "--rm", reg.image, "echo", "ran"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "ran\n");
  } finally {
    await d2.stop();
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[4] ?? "")
      .filter((m) => m.startsWith(dir));
    for (const m of mounts.reverse()) spawnSync("umount", ["-l", m]);
    await removeTempDir(dir);
  }
});
