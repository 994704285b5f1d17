/**
 * System containers: a debootstrapped Debian 12 boots under pierd with systemd as PID 1
 * (`--systemd`), to `running` with no failed unit; a unit of the guest serves a published port;
 * `pier stop` halts it cleanly (exit 0); the guest's boot and halt leave the host's cgroup trees
 * alone (a sentinel cgroup in every hierarchy survives); a guest with a terminal (`-t`) logs its
 * boot through its console, takes a login shell, shows its limits and `pier update`s in its own
 * cgroup and restarts cleanly; the Docker API asks with the label; and podman boots the same
 * image (`--systemd=always`).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { hasSysResource } from "../../runtime/checkpoint/foreign-limits.js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import {
  docker,
  pier,
  pierCommand,
  requireDocker,
  runCommand,
  startTestDaemon,
  type TestDaemon,
} from "../../testing/engine.js";
import { buildSystemImage, GUEST_PAGE } from "../../testing/engine-system-image.js";
import { ptyDialogue } from "../../testing/pty-dialogue.js";
import { criuInetSkipReason, criuSkipReason } from "../../testing/runtime-criu.js";
import {
  applyGuestCriuConfig,
  machineIdOf,
  parseSystemdMode,
  runsSystemd,
} from "../containers/systemd-mode.js";

const IMAGE = "pier-test/debian-systemd:12";
/** Whether this process may read other users' resource limits (CRIU's prlimit needs it). */
const SYS_RESOURCE = hasSysResource(readFileSync("/proc/self/status", "utf8"));

/**
 * A default subnet for a test daemon outside pierd's pool (10.88, 10.90-99/16): the tests of
 * other worktrees start daemons at the same time, and two that pick the same free subnet before
 * either has made its bridge route the host's traffic to one of them (EHOSTUNREACH seen here).
 */
function subnetOutsidePool(base: number): string {
  return `10.${base + (process.pid % 50)}.0.0/16`;
}

it("pure: which commands boot as a guest, and the mode's grammar", () => {
  assert.equal(runsSystemd("true", ["/sbin/init"]), true);
  assert.equal(runsSystemd("true", ["/usr/lib/systemd/systemd", "--log-level=debug"]), true);
  assert.equal(runsSystemd("true", ["/bin/sh"]), false);
  assert.equal(runsSystemd("always", ["/bin/sh"]), true);
  assert.equal(runsSystemd("false", ["/sbin/init"]), false);
  assert.equal(runsSystemd(undefined, ["/sbin/init"]), false);
  assert.equal(parseSystemdMode("always"), "always");
  assert.equal(parseSystemdMode(true), "true");
  assert.throws(() => parseSystemdMode("yes"), /invalid systemd value "yes": must be true, false or always/);
  assert.equal(machineIdOf("ab".repeat(32)), "ab".repeat(16));
});

it("a system container's own CRIU config: the irmap scan paths its guest's inotify watches need", async () => {
  const dir = await makeTempDir("pier-criu-conf-");
  try {
    const spec: Spec = { ociVersion: "1.0.2", annotations: { a: "b" } };
    applyGuestCriuConfig(spec, dir);
    assert.equal(spec.annotations?.["org.criu.config"], join(dir, "criu.conf"));
    assert.equal(spec.annotations?.a, "b");
    assert.match(readFileSync(join(dir, "criu.conf"), "utf8"), /^irmap-scan-path \/usr\/share\/dbus-1$/m);
    // A user's own (runc's annotation) is kept, and nothing is written.
    const own: Spec = { ociVersion: "1.0.2", annotations: { "org.criu.config": "/etc/mine.conf" } };
    applyGuestCriuConfig(own, join(dir, "nonexistent"));
    assert.equal(own.annotations?.["org.criu.config"], "/etc/mine.conf");
  } finally {
    await removeTempDir(dir);
  }
});

/**
 * Polls `systemctl is-system-running` in the guest until it settles (120 s at most: a loaded machine); what the
 * last call printed (its errors too) when it never did.
 */
async function bootState(
  run: (args: string[]) => Promise<{ stdout: string; stderr: string }>,
): Promise<string> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = await run(["systemctl", "is-system-running"]);
    const state = r.stdout.trim();
    if (state === "running" || state === "degraded") return state;
    if (Date.now() > deadline) return `${state} ${r.stderr.trim()}`;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A guest's own cgroup limits, read inside it (v1 or v2): memory bytes, "quota period", pids. */
async function guestLimits(
  exec: (args: string[]) => Promise<{ status: number | null; stdout: string }>,
): Promise<{ memory: string; cpu: string; pids: string }> {
  const v2 = (await exec(["test", "-f", "/sys/fs/cgroup/cgroup.controllers"])).status === 0;
  const read = async (path: string) => (await exec(["cat", `/sys/fs/cgroup/${path}`])).stdout.trim();
  if (v2) {
    return { memory: await read("memory.max"), cpu: await read("cpu.max"), pids: await read("pids.max") };
  }
  return {
    memory: await read("memory/memory.limit_in_bytes"),
    cpu: `${await read("cpu/cpu.cfs_quota_us")} ${await read("cpu/cpu.cfs_period_us")}`,
    pids: await read("pids/pids.max"),
  };
}

/** Polls `f` (100 ms apart) until it returns a value; throws naming `what` after `ms`. */
async function until<T>(f: () => Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An empty cgroup of the host's in every hierarchy: a guest that strays would remove it. */
function makeSentinels(): string[] {
  const name = `pier-sentinel-${randomBytes(4).toString("hex")}`;
  const out: string[] = [];
  for (const h of readdirSync("/sys/fs/cgroup")) {
    const base = join("/sys/fs/cgroup", h);
    if (!existsSync(join(base, "cgroup.procs"))) continue;
    mkdirSync(join(base, name));
    out.push(join(base, name));
  }
  if (existsSync("/sys/fs/cgroup/cgroup.procs")) {
    mkdirSync(join("/sys/fs/cgroup", name));
    out.push(join("/sys/fs/cgroup", name));
  }
  return out;
}

describe("system containers (systemd as PID 1)", () => {
  let d: TestDaemon;
  let d2: TestDaemon | undefined;
  const sentinels: string[] = [];
  let archive: string | undefined;
  /** The image as a docker archive (made once): for podman, and for a migration's target. */
  const imageArchive = async (): Promise<string> => {
    if (archive) return archive;
    const work = join(d.dir, "image-export");
    mkdirSync(work);
    const file = join(work, "guest.tar");
    const exp = await runCommand("node", [
      join(process.cwd(), "dist/cli/pier.js"),
      "--root",
      d.root,
      "image",
      "export",
      IMAGE,
      file,
    ]);
    assert.equal(exp.status, 0, exp.stderr);
    archive = file;
    return file;
  };
  before(async () => {
    requireDocker();
    d = await startTestDaemon(["--default-subnet", subnetOutsidePool(150)]);
    await buildSystemImage(d.root, IMAGE);
  });
  after(async () => {
    for (const s of sentinels) if (existsSync(s)) rmdirSync(s);
    await d2?.stop();
    await d?.stop();
  });

  it("boots to running with no failed unit, serves a port, halts cleanly, touches no host cgroup", async () => {
    sentinels.push(...makeSentinels());
    assert.ok(sentinels.length > 0, "no cgroup hierarchy found");
    const port = 20000 + (process.pid % 20000);
    const run = await pier(d, [
      "run",
      "-d",
      "--name",
      "guest",
      "--systemd",
      "true",
      "-p",
      `${port}:8080`,
      IMAGE,
    ]);
    assert.equal(run.status, 0, run.stderr);
    const id = run.stdout.trim();
    const exec = (args: string[]) => pier(d, ["exec", "guest", ...args]);
    const state = await bootState(exec);
    const failed = (await exec(["systemctl", "--failed", "--no-legend", "--plain"])).stdout.trim();
    assert.equal(state, "running", `failed units: ${failed}`);
    assert.equal(failed, "");
    // systemd's container interface: who manages it, its identity, its own cgroup root.
    const env = (await exec(["sh", "-c", "tr '\\0' '\\n' </proc/1/environ"])).stdout;
    assert.match(env, /^container=pier$/m);
    assert.match(env, new RegExp(`^container_uuid=${id.slice(0, 32)}$`, "m"));
    assert.equal((await exec(["cat", "/etc/machine-id"])).stdout.trim(), id.slice(0, 32));
    assert.equal((await exec(["systemd-detect-virt", "--container"])).stdout.trim(), "container-other");
    assert.match((await exec(["findmnt", "-n", "-o", "FSTYPE", "/run"])).stdout, /tmpfs/);
    const page = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    assert.equal(page, GUEST_PAGE);
    if (!SYS_RESOURCE && !(await criuSkipReason())) {
      // Root without CAP_SYS_RESOURCE cannot prlimit(2) dbus-daemon (uid messagebus): refused
      // before CRIU runs, naming it; the guest runs on.
      const ck = await pier(d, ["checkpoint", "create", "guest", "refused"]);
      assert.equal(ck.status, 1);
      assert.match(ck.stderr, /process \d+ \(dbus-daemon\) runs as uid \d+ .*needs CAP_SYS_RESOURCE/);
      assert.equal((await exec(["systemctl", "is-system-running"])).stdout.trim(), "running");
    }
    const started = Date.now();
    const stop = await pier(d, ["stop", "guest"]);
    assert.equal(stop.status, 0, stop.stderr);
    assert.ok(Date.now() - started < 9_000, "the guest halted on SIGRTMIN+3, not on the SIGKILL after 10 s");
    const inspect = JSON.parse((await pier(d, ["inspect", "guest"])).stdout) as { exitCode: number }[];
    assert.equal(inspect[0]?.exitCode, 0, "a clean halt exits 0");
    for (const s of sentinels) assert.ok(existsSync(s), `the guest removed the host's ${s}`);
    assert.equal((await pier(d, ["rm", "guest"])).status, 0);
    for (const h of readdirSync("/sys/fs/cgroup"))
      assert.equal(existsSync(join("/sys/fs/cgroup", h, id)), false, `${h}/${id} is left behind`);
  });

  it("a -t guest: its boot log in pier logs, a login shell, limits inside, update, restart", async () => {
    const run = await pier(d, [
      "run",
      "-d",
      "-t",
      "--name",
      "machine",
      "--systemd",
      "true",
      "--memory",
      "256m",
      "--cpus",
      "1.5",
      "--pids-limit",
      "300",
      "--cpuset-cpus",
      "0",
      IMAGE,
    ]);
    assert.equal(run.status, 0, run.stderr);
    const exec = (args: string[]) => pier(d, ["exec", "machine", ...args]);
    assert.equal(await bootState(exec), "running");
    // The console (-t) is the guest's /dev/console: systemd's boot lines reach the log.
    const boot = (await pier(d, ["logs", "machine"])).stdout;
    assert.match(boot, /Welcome to .*Debian GNU\/Linux 12/);
    assert.match(boot, /Reached target .*multi-user\.target/);
    // A login shell as on a machine's console: login(1) as root, bash -l on a terminal.
    const [cmd, argv] = pierCommand(["exec", "-it", "machine", "login", "-f", "root"]);
    const login = await ptyDialogue([cmd, ...argv], [["root@", "echo shell=$0 on $(tty); exit\n"]], {
      env: { ...process.env, PIER_HOST: d.socket },
    });
    assert.equal(login.status, 0, login.stdout);
    assert.match(login.stdout, /shell=-bash on \/dev\/pts\/\d+/);
    // Limits, seen in the guest's own cgroup root; nproc follows the cpuset (sched affinity).
    assert.deepEqual(await guestLimits(exec), { memory: "268435456", cpu: "150000 100000", pids: "300" });
    assert.equal((await exec(["nproc"])).stdout.trim(), "1");
    // pier update on the running guest: seen inside at once; systemd carries on.
    const up = await pier(d, [
      "update",
      "--memory",
      "512m",
      "--cpus",
      "0.5",
      "--pids-limit",
      "400",
      "machine",
    ]);
    assert.equal(up.status, 0, up.stderr);
    assert.deepEqual(await guestLimits(exec), { memory: "536870912", cpu: "50000 100000", pids: "400" });
    assert.equal((await exec(["systemctl", "is-system-running"])).stdout.trim(), "running");
    // pier restart: a clean halt (the guest's own last words), then a second boot to running,
    // with the updated limits.
    const started = Date.now();
    const restart = await pier(d, ["restart", "machine"]);
    assert.equal(restart.status, 0, restart.stderr);
    assert.ok(Date.now() - started < 9_000, "the guest halted on SIGRTMIN+3, not on the SIGKILL after 10 s");
    assert.equal(await bootState(exec), "running");
    const twice = await until(async () => {
      const logs = (await pier(d, ["logs", "machine"])).stdout;
      return logs.split("Reached target").length > 2 && logs.includes("Exiting container") ? logs : undefined;
    }, "the second boot in the log");
    assert.equal(twice.split("Welcome to").length - 1, 2);
    assert.deepEqual(await guestLimits(exec), { memory: "536870912", cpu: "50000 100000", pids: "400" });
    const stop = await pier(d, ["stop", "machine"]);
    assert.equal(stop.status, 0, stop.stderr);
    const inspect = JSON.parse((await pier(d, ["inspect", "machine"])).stdout) as { exitCode: number }[];
    assert.equal(inspect[0]?.exitCode, 0, "a clean halt exits 0");
    assert.equal((await pier(d, ["rm", "machine"])).status, 0);
  });

  it("a booted guest checkpoints, restores and migrates, its service answering throughout", async (t) => {
    // The guest's sockets include inet ones (its web unit, dbus's and systemd's are unix).
    const skip = await criuInetSkipReason();
    if (skip) return t.skip(skip);
    const port = 20000 + ((process.pid + 7) % 20000);
    // Without CAP_SYS_RESOURCE (see the first test) CRIU cannot dump a service of another user:
    // the guest's dbus-daemon then runs as root (a drop-in of its own config), all else as is.
    const dropIn = join(d.dir, "dbus-as-root.conf");
    writeFileSync(dropIn, "<busconfig><user>root</user></busconfig>\n");
    const run = await pier(d, [
      "run",
      "-d",
      "--name",
      "mover",
      "--systemd",
      "true",
      "-p",
      `${port}:8080`,
      ...(SYS_RESOURCE ? [] : ["-v", `${dropIn}:/etc/dbus-1/system.d/zz-dbus-as-root.conf:ro`]),
      IMAGE,
    ]);
    assert.equal(run.status, 0, run.stderr);
    const exec = (args: string[]) => pier(d, ["exec", "mover", ...args]);
    assert.equal(await bootState(exec), "running");
    const get = () =>
      fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(15_000) }).then((r) => r.text());
    assert.equal(await get(), GUEST_PAGE);
    const mac = (await exec(["cat", "/sys/class/net/eth0/address"])).stdout.trim();
    const ck = await pier(d, ["checkpoint", "create", "mover", "booted"]);
    assert.equal(ck.status, 0, ck.stderr);
    const restore = await pier(d, ["restore", "--checkpoint", "booted", "mover"]);
    assert.equal(restore.status, 0, restore.stderr);
    // eth0 has its old MAC again, so the host's neighbour entry still reaches it.
    assert.equal((await exec(["cat", "/sys/class/net/eth0/address"])).stdout.trim(), mac);
    assert.equal(await get(), GUEST_PAGE);
    assert.equal((await exec(["systemctl", "is-system-running"])).stdout.trim(), "running");
    // Moved to another pierd (this host again, another bridge): it runs on there.
    const target = await startTestDaemon(["--default-subnet", subnetOutsidePool(200)]);
    d2 = target;
    const load = await pier(target, ["load", "-i", await imageArchive()]);
    assert.equal(load.status, 0, load.stderr);
    const tag = await pier(target, ["tag", load.stdout.replace(/^Loaded image: /, "").trim(), IMAGE]);
    assert.equal(tag.status, 0, tag.stderr);
    const moved = await pier(d, ["migrate", "mover", "--to", target.socket], { timeout: 180_000 });
    assert.equal(moved.status, 0, moved.stderr);
    const there = (args: string[]) => pier(target, ["exec", "mover", ...args]);
    assert.equal((await there(["systemctl", "is-system-running"])).stdout.trim(), "running");
    assert.equal((await there(["systemctl", "--failed", "--no-legend", "--plain"])).stdout.trim(), "");
    assert.equal(await get(), GUEST_PAGE);
    const stop = await pier(target, ["stop", "mover"]);
    assert.equal(stop.status, 0, stop.stderr);
    const inspect = JSON.parse((await pier(target, ["inspect", "mover"])).stdout) as { exitCode: number }[];
    assert.equal(inspect[0]?.exitCode, 0, "the moved guest halts cleanly");
    assert.equal((await pier(target, ["rm", "mover"])).status, 0);
  });

  it("a -t guest checkpoints and restores with its console, which pier logs goes on showing", async (t) => {
    const skip = await criuSkipReason();
    if (skip) return t.skip(skip);
    // as in the test above: without CAP_SYS_RESOURCE the guest's dbus-daemon runs as root
    const dropIn = join(d.dir, "dbus-as-root.conf");
    writeFileSync(dropIn, "<busconfig><user>root</user></busconfig>\n");
    const run = await pier(d, [
      "run",
      "-d",
      "-t",
      "--name",
      "ttyguest",
      "--systemd",
      "true",
      ...(SYS_RESOURCE ? [] : ["-v", `${dropIn}:/etc/dbus-1/system.d/zz-dbus-as-root.conf:ro`]),
      IMAGE,
    ]);
    assert.equal(run.status, 0, run.stderr);
    const exec = (args: string[]) => pier(d, ["exec", "ttyguest", ...args]);
    assert.equal(await bootState(exec), "running");
    const ck = await pier(d, ["checkpoint", "create", "ttyguest", "console"]);
    if (ck.status !== 0 && /Can't get 1:(16|34) opt: Operation not supported/.test(ck.stderr)) {
      await pier(d, ["rm", "-f", "ttyguest"]);
      return t.skip("this CRIU cannot dump an inet socket on this kernel (checkpoint-restore/criu#2718)");
    }
    assert.equal(ck.status, 0, ck.stderr);
    const restore = await pier(d, ["restore", "--checkpoint", "console", "ttyguest"]);
    assert.equal(restore.status, 0, restore.stderr);
    assert.equal((await exec(["systemctl", "is-system-running"])).stdout.trim(), "running");
    // the guest's /dev/console is the restored terminal, held by the new monitor
    assert.equal((await exec(["sh", "-c", "echo console-after-$((40+2)) > /dev/console"])).status, 0);
    const deadline = Date.now() + 30_000;
    while (!(await pier(d, ["logs", "ttyguest"])).stdout.includes("console-after-42")) {
      assert.ok(Date.now() < deadline, "the restored console reaches pier logs");
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await pier(d, ["rm", "-f", "ttyguest"])).status, 0);
  });

  it("through the Docker API: the io.pier.systemd label asks for the guest mode", async () => {
    const run = await docker(d, [
      "run",
      "-d",
      "--name",
      "dguest",
      "--label",
      "io.pier.systemd=always",
      IMAGE,
    ]);
    assert.equal(run.status, 0, run.stderr);
    const state = await bootState((args) => docker(d, ["exec", "dguest", ...args]));
    assert.equal(state, "running");
    const bad = await docker(d, ["run", "-d", "--label", "io.pier.systemd=maybe", IMAGE]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /invalid systemd value "maybe"/);
    assert.equal((await docker(d, ["rm", "-f", "dguest"])).status, 0);
  });

  it("podman boots the same image with --systemd=always (the image interoperates)", async () => {
    const guestArchive = await imageArchive();
    const work = join(d.dir, "podman");
    mkdirSync(work);
    const podman = (args: string[]) =>
      runCommand(
        "podman",
        ["--runtime", "runc", "--root", join(work, "storage"), "--runroot", join(work, "run"), ...args],
        {
          timeout: 120_000,
        },
      );
    const name = `pier-sys-${randomBytes(3).toString("hex")}`;
    const r = await podman([
      "run",
      "-d",
      "--name",
      name,
      "--systemd=always",
      // root here lacks CAP_SYS_RESOURCE: podman's default ulimits would be refused by runc
      "--ulimit",
      "nofile=1024:1024",
      "--ulimit",
      "nproc=1024:1024",
      `docker-archive:${guestArchive}`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    try {
      const state = await bootState((args) => podman(["exec", name, ...args]));
      assert.ok(state === "running" || state === "degraded", `podman's guest: ${state}`);
    } finally {
      await podman(["rm", "-f", "-t", "0", name]);
    }
  });
});
