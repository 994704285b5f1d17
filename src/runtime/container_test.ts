/**
 * Real containers through the `pier-runtime` command line: every feature shown from inside a
 * busybox container.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { machine } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Spec } from "../oci/runtime-spec/config.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import {
  consoleReceiver,
  pierRuntimeCommand,
  pythonSocketAgent,
  runtimeCmd,
  scriptSpec,
  writeBundle,
} from "../testing/runtime.js";
import { disposeTree, uniqueParent } from "../testing/runtime-cgroups.js";

let tmp = "";
/** The cgroups of this file's containers that name a cgroupsPath: removed, whatever remains, after. */
const cgParent = uniqueParent("container");
let rootfs = "";
let stateRoot = "";
let n = 0;

before(async () => {
  tmp = await makeTempDir("pier-rt-");
  // A container root in a user namespace must be able to reach its rootfs (as with runc).
  chmodSync(tmp, 0o755);
  rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
  stateRoot = join(tmp, "state");
});

after(async () => {
  for (const id of runtimeCmd("pier", ["--root", stateRoot, "list", "-q"])
    .stdout.split("\n")
    .filter(Boolean)) {
    runtimeCmd("pier", ["--root", stateRoot, "delete", "--force", id]);
  }
  await disposeTree(cgParent);
  await removeTempDir(tmp);
});

const pier = (...args: string[]) => runtimeCmd("pier", ["--root", stateRoot, ...args]);
const pierDetached = (...args: string[]) =>
  runtimeCmd("pier", ["--root", stateRoot, ...args], { detached: true });

async function bundle(spec: Spec): Promise<{ dir: string; id: string }> {
  n += 1;
  const dir = join(tmp, `b${n}`);
  await writeBundle(dir, spec, rootfs);
  return { dir, id: `c${n}-${process.pid}` };
}

/** Runs `script` in a container made from the default spec plus `mutate`; returns its output. */
async function runScript(
  script: string,
  mutate?: (s: Spec) => void,
): Promise<{ out: string; err: string; status: number | null }> {
  const { dir, id } = await bundle(scriptSpec(script, mutate));
  const r = pier("run", "--bundle", dir, id);
  return { out: r.stdout, err: r.stderr, status: r.status };
}

test("default spec: capabilities, no_new_privs, hostname, rlimits, devices and mounts as runc sets them", async () => {
  const r = await runScript(
    "grep -E 'Cap|NoNewPrivs' /proc/self/status; hostname; ulimit -n; ls -l /dev; cat /proc/mounts; id",
  );
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /CapBnd:\s+0000000020000420/);
  assert.match(r.out, /CapEff:\s+0000000020000420/);
  assert.match(r.out, /NoNewPrivs:\s+1/);
  assert.match(r.out, /^runc$/m);
  assert.match(r.out, /^1024$/m);
  for (const dev of [
    "null +1, +3",
    "zero +1, +5",
    "full +1, +7",
    "random +1, +8",
    "urandom +1, +9",
    "tty +5, +0",
  ]) {
    const [name, ...num] = dev.split(" ");
    assert.match(
      r.out,
      new RegExp(`crw-rw-rw-.*${num.join(" ").replace(/\+/g, "")}.*${name}`.replace(/ /g, "\\s+")),
    );
  }
  for (const link of [
    "fd -> /proc/self/fd",
    "stdin -> /proc/self/fd/0",
    "stdout -> /proc/self/fd/1",
    "stderr -> /proc/self/fd/2",
    "ptmx -> pts/ptmx",
  ]) {
    assert.ok(r.out.includes(link), `missing /dev/${link}`);
  }
  assert.match(r.out, /^\S+ \/ \S+ ro,/m, "read-only rootfs");
  assert.match(r.out, /^proc \/proc proc rw/m);
  assert.match(r.out, /^sysfs \/sys sysfs ro,nosuid,nodev,noexec/m);
  assert.match(r.out, /^devpts \/dev\/pts devpts rw,nosuid,noexec.*gid=5,mode=620,ptmxmode=666/m);
  assert.match(r.out, /^mqueue \/dev\/mqueue mqueue/m);
  assert.match(r.out, /^proc \/proc\/sys proc ro/m, "read-only path");
  assert.match(r.out, /^tmpfs \/proc\/acpi tmpfs ro/m, "masked directory");
  assert.match(r.out, /\/sys\/fs\/cgroup\/memory cgroup ro/m);
  assert.match(r.out, /uid=0\(root\) gid=0\(root\)/);
});

test("masked and read-only paths refuse writes; masked files read empty (they are /dev/null)", async () => {
  const r = await runScript(
    "cat /proc/timer_list | wc -c; echo x > /proc/sys/kernel/hostname && echo WROTE-SYS; touch /proc/acpi/x && echo WROTE-MASK; touch /newfile && echo WROTE-ROOT; echo done",
  );
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^0$/m);
  assert.doesNotMatch(r.out, /WROTE/);
  assert.match(r.err, /Read-only file system/);
});

test("user namespace: uid_map and gid_map from linux.uidMappings", async () => {
  const r = await runScript("cat /proc/self/uid_map /proc/self/gid_map; id -u; ls -ln /dev/null", (s) => {
    s.linux?.namespaces?.push({ type: "user" });
    if (s.linux) {
      s.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      s.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    }
  });
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^\s+0\s+200000\s+65536\n\s+0\s+200000\s+65536$/m);
  assert.match(r.out, /^0$/m);
  assert.match(
    r.out,
    /crw-rw-rw-\s+1\s+65534\s+65534\s+1,\s+3/,
    "devices are bound from the host in a user namespace",
  );
});

test("process: user, groups, umask, cwd, env, rlimits, oomScoreAdj, five capability sets", async () => {
  const r = await runScript(
    "id; umask; pwd; echo $FOO; ulimit -u; cat /proc/self/oom_score_adj; grep Cap /proc/self/status",
    (s) => {
      const p = s.process;
      if (!p) return;
      p.user = { uid: 1000, gid: 1000, additionalGids: [10, 65534], umask: 0o077 };
      p.cwd = "/tmp";
      p.env?.push("FOO=bar baz");
      p.rlimits?.push({ type: "RLIMIT_NPROC", soft: 77, hard: 78 });
      p.oomScoreAdj = 345;
      const caps = ["CAP_NET_RAW", "CAP_CHOWN"];
      p.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps };
      p.noNewPrivileges = false;
    },
  );
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /uid=1000\(user\) gid=1000\(user\) groups=10\(wheel\),65534\(nogroup\)/);
  assert.match(r.out, /^0077$/m);
  assert.match(r.out, /^\/tmp$/m);
  assert.match(r.out, /^bar baz$/m);
  assert.match(r.out, /^77$/m);
  assert.match(r.out, /^345$/m);
  for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"])
    assert.match(r.out, new RegExp(`${set}:\\s+0000000000002001`));
});

test("mounts: bind (ro, file), tmpfs options, propagation; sysctl, hostname, domainname, devices", async () => {
  const hostDir = join(tmp, "shared");
  mkdirSync(hostDir, { recursive: true });
  writeFileSync(join(hostDir, "hello"), "from host\n");
  const r = await runScript(
    "cat /data/hello; touch /data/x && echo WROTE; cat /etc/hello; mount | grep -E ' /scratch | /data '; cat /proc/sys/net/ipv4/ip_forward; hostname; cat /proc/sys/kernel/domainname; ls -l /dev/mynull; ls -ld /dev/shm",
    (s) => {
      s.mounts?.push(
        { destination: "/data", source: hostDir, options: ["rbind", "ro", "rprivate"] },
        { destination: "/etc/hello", source: join(hostDir, "hello"), type: "bind", options: ["bind"] },
        {
          destination: "/scratch",
          type: "tmpfs",
          source: "tmpfs",
          options: ["noexec", "nosuid", "size=1m", "mode=700"],
        },
      );
      s.hostname = "pier-host";
      s.domainname = "pier.example";
      if (s.linux) {
        s.linux.sysctl = { "net.ipv4.ip_forward": "1" };
        s.linux.devices = [
          { type: "c", path: "/dev/mynull", major: 1, minor: 3, fileMode: 0o600, uid: 0, gid: 0 },
        ];
      }
    },
  );
  assert.equal(r.status, 0, r.err);
  assert.equal(r.out.match(/from host/g)?.length, 2);
  assert.doesNotMatch(r.out, /WROTE/);
  assert.match(r.out, /on \/data type \S+ \(ro/);
  assert.match(r.out, /tmpfs on \/scratch type tmpfs \(rw,nosuid,noexec,relatime,size=1024k,mode=700\)/);
  assert.match(r.out, /^1$/m);
  assert.match(r.out, /^pier-host$/m);
  assert.match(r.out, /^pier\.example$/m);
  assert.match(r.out, /crw-------\s+1 root\s+root\s+1,\s+3 .*\/dev\/mynull/);
});

test("a symlink in the rootfs cannot redirect a mount to the host (CVE-2021-30465)", async () => {
  const own = join(tmp, "escape-rootfs");
  await writeBusyboxRootfs(own);
  const hostTarget = join(tmp, "host-target");
  mkdirSync(hostTarget);
  symlinkSync(hostTarget, join(own, "evil"));
  const spec = scriptSpec("grep -q host-target/sub /proc/mounts", (s) => {
    s.mounts?.push({ destination: "/evil/sub", type: "tmpfs", source: "tmpfs" });
  });
  n += 1;
  const dir = join(tmp, `b${n}`);
  await writeBundle(dir, spec, own);
  const r = pier("run", "--bundle", dir, `esc${process.pid}`);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!existsSync(join(hostTarget, "sub")), "the host directory was touched");
  assert.ok(
    existsSync(join(own, tmp.slice(1), "host-target", "sub")),
    "the target was created inside the rootfs",
  );
});

test("only stdio and --preserve-fds reach the container; cwd stays inside (CVE-2024-21626)", async () => {
  const { dir, id } = await bundle(scriptSpec("ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; cat <&3"));
  const extra = join(tmp, "extra-fd");
  writeFileSync(extra, "preserved\n");
  const fd = openSync(extra, "r");
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        ...pierRuntimeCommand(["--root", stateRoot, "run", "--preserve-fds", "1", "--bundle", dir, id]),
        { stdio: ["ignore", "pipe", "inherit", fd] },
      );
      let s = "";
      child.stdout?.on("data", (d: Buffer) => {
        s += d.toString();
      });
      child.on("error", reject);
      child.on("exit", () => resolve(s));
    });
    // ls itself holds one more fd for the directory it reads.
    assert.match(out, /^0 1 2 3 4 $/m);
    assert.match(out, /^preserved$/m);
  } finally {
    closeSync(fd);
  }
  const bad = await runScript("pwd", (s) => {
    if (s.process) s.process.cwd = "/nonexistent/dir";
  });
  assert.equal(bad.status, 1);
  assert.match(bad.err, /chdir to cwd/);
});

test("lifecycle: create, state, start, kill, delete; runc's errors for wrong states", async () => {
  const { dir, id } = await bundle(scriptSpec("sleep 30"));
  const c = spawn(
    ...pierRuntimeCommand([
      "--root",
      stateRoot,
      "create",
      "--bundle",
      dir,
      "--pid-file",
      join(dir, "pid"),
      id,
    ]),
    { stdio: "ignore" },
  );
  assert.equal(await new Promise((r) => c.on("exit", r)), 0);
  const state = JSON.parse(pier("state", id).stdout);
  assert.equal(state.status, "created");
  assert.equal(state.id, id);
  assert.equal(state.bundle, dir);
  assert.equal(Number(readFileSync(join(dir, "pid"), "utf8")), state.pid);
  const again = pier("create", "--bundle", dir, id);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /container with id exists/);
  assert.equal(pier("start", id).status, 0);
  assert.equal(JSON.parse(pier("state", id).stdout).status, "running");
  const second = pier("start", id);
  assert.equal(second.status, 1);
  assert.match(second.stderr, /cannot start an already running container/);
  const del = pier("delete", id);
  assert.equal(del.status, 1);
  assert.match(del.stderr, /that is not stopped/);
  const list = JSON.parse(pier("list", "--format", "json").stdout) as { id: string; status: string }[];
  assert.equal(list.find((x) => x.id === id)?.status, "running");
  assert.equal(pier("kill", id, "KILL").status, 0);
  for (let i = 0; i < 100 && JSON.parse(pier("state", id).stdout).status !== "stopped"; i++)
    await new Promise((r) => setTimeout(r, 20));
  assert.equal(JSON.parse(pier("state", id).stdout).status, "stopped");
  const k = pier("kill", id);
  assert.equal(k.status, 1);
  assert.match(k.stderr, /container not running/);
  const s = pier("start", id);
  assert.equal(s.status, 1);
  assert.match(s.stderr, /cannot start a container that has stopped/);
  assert.equal(pier("delete", id).status, 0);
  const gone = pier("state", id);
  assert.equal(gone.status, 1);
  assert.match(gone.stderr, /container does not exist/);
});

test("run exits with the container's status; signals give 128+n", async () => {
  assert.equal((await runScript("exit 42")).status, 42);
  const { dir, id } = await bundle(scriptSpec("sleep 30"));
  const child = spawn(...pierRuntimeCommand(["--root", stateRoot, "run", "--bundle", dir, id]), {
    stdio: "ignore",
  });
  const exited = new Promise((r) => child.on("exit", r));
  for (let i = 0; i < 200 && JSON.parse(pier("state", id).stdout || "{}").status !== "running"; i++)
    await new Promise((r) => setTimeout(r, 20));
  assert.equal(pier("kill", id, "9").status, 0);
  assert.equal(await exited, 137);
  assert.equal(pier("state", id).status, 1, "run deletes the container after it exits");
});

test("invalid config.json: runc-like messages naming the field, exit 1, nothing left behind", async () => {
  const cases: [(s: Spec) => void, RegExp][] = [
    [
      (s) => s.mounts?.push({ destination: "relative", type: "tmpfs" }),
      /mounts\[7\]\.destination: must be absolute/,
    ],
    [
      (s) => s.linux?.namespaces?.push({ type: "bogus" as "pid" }),
      /linux\.namespaces\[5\]\.type: unknown namespace type \\?"bogus/,
    ],
    [(s) => ((s.process as unknown as Record<string, unknown>).cwd = 5), /process\.cwd: must be a string/],
    [
      (s) => (s.root = { path: "/does/not/exist" }),
      /root\.path: rootfs \(\\?"\/does\/not\/exist\\?"\) does not exist/,
    ],
  ];
  for (const [mutate, re] of cases) {
    const spec = scriptSpec("true");
    mutate(spec);
    n += 1;
    const dir = join(tmp, `b${n}`);
    await writeBundle(dir, spec, spec.root?.path === "/does/not/exist" ? "/does/not/exist" : rootfs);
    const r = pier("run", "--bundle", dir, `bad${n}`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(pier("state", `bad${n}`).status, 1, "no state left behind");
  }
  const missing = pier("run", "--bundle", join(tmp, "nope"), "nobundle");
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /config\.json not found/);
});

test("hooks run at their lifecycle points with the state on stdin", async () => {
  const log = join(tmp, "hooks");
  mkdirSync(log);
  const hookScript = join(tmp, "hook.sh");
  writeFileSync(hookScript, `#!/bin/sh\ncat > "${log}/$1.json"\necho "$HOOKVAR" > "${log}/$1.env"\n`);
  chmodSync(hookScript, 0o755);
  const hook = (name: string) => ({
    path: hookScript,
    args: ["hook.sh", name],
    env: [`HOOKVAR=${name}-env`],
    timeout: 10,
  });
  const { dir, id } = await bundle(
    scriptSpec("true", (s) => {
      // In-container hooks need their binary inside: bind the log dir and script in at the same path.
      s.mounts?.push({ destination: tmp, source: tmp, options: ["rbind"] });
      if (s.root) s.root.readonly = false;
      s.hooks = {
        prestart: [hook("prestart")],
        createRuntime: [hook("createRuntime")],
        createContainer: [hook("createContainer")],
        startContainer: [hook("startContainer")],
        poststart: [hook("poststart")],
        poststop: [hook("poststop")],
      };
    }),
  );
  const r = pier("run", "--bundle", dir, id);
  assert.equal(r.status, 0, r.stderr);
  for (const name of [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
  ]) {
    const state = JSON.parse(readFileSync(join(log, `${name}.json`), "utf8"));
    assert.equal(state.id, id, name);
    assert.equal(state.bundle, dir, name);
    assert.equal(readFileSync(join(log, `${name}.env`), "utf8"), `${name}-env\n`);
    // runtime.md "State" and config.md "POSIX-platform Hooks": the status at each point, and the
    // pid as the hook's namespace sees it (1 in the container's new pid namespace).
    const expected: Record<string, [string, (pid: number) => boolean]> = {
      prestart: ["creating", (pid) => pid > 1],
      createRuntime: ["creating", (pid) => pid > 1],
      createContainer: ["creating", (pid) => pid === 1],
      startContainer: ["created", (pid) => pid === 1],
      poststart: ["running", (pid) => pid > 1],
      poststop: ["stopped", () => true],
    };
    const [status, pidOk] = expected[name] ?? ["", () => false];
    assert.equal(state.status, status, name);
    assert.ok(pidOk(state.pid), `${name}: pid ${state.pid}`);
    assert.equal(typeof state.ociVersion, "string", name);
  }
});

test("a failing or hanging hook fails create and cleans up", async () => {
  const failing = await bundle(
    scriptSpec("true", (s) => (s.hooks = { createRuntime: [{ path: "/bin/false" }] })),
  );
  const r = pier("run", "--bundle", failing.dir, failing.id);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /createRuntime hook \/bin\/false failed: exit status 1/);
  assert.equal(pier("state", failing.id).status, 1);
  const hanging = await bundle(
    scriptSpec(
      "true",
      (s) => (s.hooks = { prestart: [{ path: "/bin/sleep", args: ["sleep", "60"], timeout: 1 }] }),
    ),
  );
  const t0 = Date.now();
  const h = pier("run", "--bundle", hanging.dir, hanging.id);
  assert.equal(h.status, 1);
  assert.match(h.stderr, /timed out after 1s/);
  assert.ok(Date.now() - t0 < 15000);
  assert.equal(pier("state", hanging.id).status, 1);
  const inside = await bundle(
    scriptSpec(
      "true",
      (s) => (s.hooks = { createContainer: [{ path: "/bin/sleep", args: ["sleep", "60"], timeout: 1 }] }),
    ),
  );
  const i = pier("run", "--bundle", inside.dir, inside.id);
  assert.equal(i.status, 1);
  assert.match(i.stderr, /timed out/);
});

test("terminal: the pty master arrives on --console-socket with consoleSize applied", async () => {
  const { dir, id } = await bundle(
    scriptSpec("tty; stty size; ls -l /dev/console", (s) => {
      if (s.process) {
        s.process.terminal = true;
        s.process.consoleSize = { height: 33, width: 111 };
      }
    }),
  );
  const sock = join(tmp, `console-${id}.sock`);
  const rx = consoleReceiver(sock);
  await rx.ready;
  const r = pier("run", "--console-socket", sock, "--bundle", dir, id);
  assert.equal(r.status, 0, r.stderr);
  const out = await rx.output;
  assert.match(out, /name=\/dev\/pts\/0/);
  assert.match(out, /\/dev\/pts\/0/);
  assert.match(out, /33 111/);
});

test("exec into a running container: args, --env, --cwd, --user, --process, exit status, detach", async () => {
  const { dir, id } = await bundle(scriptSpec("sleep 60"));
  assert.equal(pierDetached("run", "--detach", "--bundle", dir, id).status, 0);
  const e = pier(
    "exec",
    "--env",
    "X=1",
    "--cwd",
    "/tmp",
    "--user",
    "1000:1000",
    id,
    "sh",
    "-c",
    "echo $X; pwd; id -u; cat /proc/1/cmdline | tr '\\0' ' '; hostname",
  );
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stdout, /^1\n\/tmp\n1000\nsleep 60 runc\n$/);
  assert.equal(pier("exec", id, "sh", "-c", "exit 3").status, 3);
  const procFile = join(tmp, `proc-${id}.json`);
  writeFileSync(
    procFile,
    JSON.stringify({
      user: { uid: 0, gid: 0 },
      args: ["sh", "-c", "echo from-process-file"],
      cwd: "/",
      env: ["PATH=/bin"],
    }),
  );
  const pf = pier("exec", "--process", procFile, id);
  assert.equal(pf.status, 0, pf.stderr);
  assert.equal(pf.stdout, "from-process-file\n");
  const d = pierDetached("exec", "--detach", "--pid-file", join(tmp, `epid-${id}`), id, "sleep", "5");
  assert.equal(d.status, 0);
  const ps = JSON.parse(pier("ps", "--format", "json", id).stdout) as number[];
  assert.ok(ps.includes(Number(readFileSync(join(tmp, `epid-${id}`), "utf8"))), "ps lists the detached exec");
  assert.equal(pier("delete", "--force", id).status, 0);
  const stopped = pier("exec", id, "true");
  assert.equal(stopped.status, 1);
});

test("cgroups: memory limit OOM-kills, pids limit makes fork fail, the cgroup goes away on delete", async () => {
  const oom = await runScript(
    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; tail /dev/zero; echo status=$?",
    (s) => {
      if (s.linux) s.linux.resources = { memory: { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 } };
      if (s.root) s.root.readonly = false;
    },
  );
  assert.match(oom.out, /^33554432$/m);
  assert.match(oom.out, /^status=137$/m, "tail is OOM-killed (SIGKILL)");
  const pids = await runScript(
    "cat /sys/fs/cgroup/pids/pids.max; for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait; echo end",
    (s) => {
      if (s.linux) s.linux.resources = { pids: { limit: 4 } };
    },
  );
  assert.match(pids.out, /^4$/m);
  assert.match(pids.err, /can't fork|Resource temporarily unavailable/);
  const { dir, id } = await bundle(
    scriptSpec("sleep 30", (s) => {
      if (s.linux) s.linux.cgroupsPath = `${cgParent}/cg`;
    }),
  );
  assert.equal(pierDetached("run", "-d", "--bundle", dir, id).status, 0);
  const cgDir = `/sys/fs/cgroup/memory${cgParent}/cg`;
  assert.ok(existsSync(cgDir), "cgroupsPath is created");
  const procs = readFileSync(join(cgDir, "cgroup.procs"), "utf8").trim().split("\n");
  assert.deepEqual(procs, [String(JSON.parse(pier("state", id).stdout).pid)]);
  assert.equal(pier("delete", "--force", id).status, 0);
  assert.ok(!existsSync(cgDir), "the cgroup is removed on delete");
});

test("init and exec'd processes are in the container's cgroup in every hierarchy, with a cgroup namespace too", async () => {
  for (const cgroupNs of [false, true]) {
    const path = `${cgParent}/join-${cgroupNs ? "ns" : "host"}`;
    const { dir, id } = await bundle(
      scriptSpec("sleep 30", (s) => {
        if (s.linux) s.linux.cgroupsPath = path;
        if (cgroupNs) s.linux?.namespaces?.push({ type: "cgroup" });
      }),
    );
    assert.equal(pierDetached("run", "-d", "--bundle", dir, id).status, 0);
    const pidFile = join(tmp, `${id}.exec.pid`);
    assert.equal(pierDetached("exec", "-d", "--pid-file", pidFile, id, "sleep", "30").status, 0);
    const init = Number(JSON.parse(pier("state", id).stdout).pid);
    const exec = Number(readFileSync(pidFile, "utf8"));
    for (const pid of [init, exec]) {
      // Read from the host: each line is "N:controllers:PATH", PATH in the host's view.
      const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
      assert.ok(lines.length > 0);
      for (const line of lines)
        assert.ok(line.endsWith(`:${path}`), `pid ${pid} (${cgroupNs ? "cgroupns" : "host ns"}): ${line}`);
    }
    assert.equal(pier("delete", "--force", id).status, 0);
  }
});

test("seccomp: linux.seccomp is compiled and loaded before the process runs", async () => {
  const r = await runScript(
    "grep Seccomp: /proc/self/status; mkdir /tmp/x || echo mkdir-denied; echo ok",
    (s) => {
      if (s.root) s.root.readonly = false;
      if (s.linux) {
        s.linux.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          architectures: ["SCMP_ARCH_X86_64"],
          syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
        };
      }
    },
  );
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /Seccomp:\s+2/);
  assert.match(r.out, /mkdir-denied/);
  assert.match(r.err, /Operation not permitted/);
});

test("the container init runs from a sealed memfd, not from a file it could overwrite (CVE-2019-5736)", async () => {
  const { dir, id } = await bundle(scriptSpec("true"));
  assert.equal(pierDetached("create", "--bundle", dir, id).status, 0);
  try {
    const pid = JSON.parse(pier("state", id).stdout).pid as number;
    const exe = (await import("node:fs")).readlinkSync(`/proc/${pid}/exe`);
    assert.match(exe, /^\/memfd:pier-init \(deleted\)$/);
  } finally {
    pier("delete", "--force", id);
  }
});

test("masking refuses a /dev/null that is not the char device 1:3 (CVE-2025-31133)", async () => {
  const devDir = join(tmp, "fake-dev");
  mkdirSync(devDir, { recursive: true });
  symlinkSync("/proc/sys/kernel/core_pattern", join(devDir, "null"));
  const r = await runScript("echo should-not-run", (s) => {
    s.mounts = (s.mounts ?? []).filter((m) => !m.destination.startsWith("/dev"));
    s.mounts.push({ destination: "/dev", source: devDir, options: ["rbind"] });
  });
  assert.equal(r.status, 1);
  assert.match(r.err, /\/dev\/null is not the char device 1:3/);
  assert.doesNotMatch(r.out, /should-not-run/);
});

test("exec --tty sends a pty to the console socket", async () => {
  const { dir, id } = await bundle(scriptSpec("sleep 30"));
  assert.equal(pierDetached("run", "-d", "--bundle", dir, id).status, 0);
  try {
    const sock = join(tmp, `exec-console-${id}.sock`);
    const rx = consoleReceiver(sock);
    await rx.ready;
    const r = pier("exec", "--tty", "--console-socket", sock, id, "sh", "-c", "tty; echo exec-tty-ok");
    assert.equal(r.status, 0, r.stderr);
    const out = await rx.output;
    assert.match(out, /\/dev\/pts\/\d+/);
    assert.match(out, /exec-tty-ok/);
  } finally {
    pier("delete", "--force", id);
  }
});

test("pause freezes, resume thaws, update changes limits, events --stats; delete --force works while paused", async () => {
  const { dir, id } = await bundle(scriptSpec("while true; do sleep 0.05; done"));
  assert.equal(pierDetached("run", "-d", "--bundle", dir, id).status, 0);
  try {
    assert.equal(pier("pause", id).status, 0, "pause");
    const st = JSON.parse(pier("state", id).stdout);
    assert.equal(st.status, "paused");
    assert.match(readFileSync(`/proc/${st.pid}/status`, "utf8"), /State:\s+[DS]/);
    assert.equal(pier("resume", id).status, 0);
    assert.equal(JSON.parse(pier("state", id).stdout).status, "running");
    const res = join(tmp, `res-${id}.json`);
    writeFileSync(res, JSON.stringify({ pids: { limit: 42 } }));
    const u = pier("update", "--resources", res, id);
    assert.equal(u.status, 0, u.stderr);
    const e = pier("exec", id, "cat", "/sys/fs/cgroup/pids/pids.max");
    assert.equal(e.stdout, "42\n");
    const ev = JSON.parse(pier("events", "--stats", id).stdout);
    assert.equal(ev.type, "stats");
    assert.equal(ev.id, id);
    assert.equal(ev.data.pids.limit, 42);
    assert.equal(pier("pause", id).status, 0);
    assert.equal(pier("delete", id).status, 1, "a paused container is not stopped");
    assert.equal(pier("delete", "--force", id).status, 0);
  } finally {
    pier("delete", "--force", id);
  }
});

test("run with terminal and no console socket proxies the pty to its own stdio, as runc", async () => {
  const r = await runScript("tty; echo pty-ok", (s) => {
    if (s.process) s.process.terminal = true;
  });
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^\/dev\/pts\/0\r?\npty-ok\r?\n$/);
  const { dir, id } = await bundle(
    scriptSpec("true", (s) => {
      if (s.process) s.process.terminal = true;
    }),
  );
  const d = pier("run", "--detach", "--bundle", dir, id);
  assert.equal(d.status, 1);
  assert.match(d.stderr, /cannot allocate tty if runc will detach without setting console socket/);
});

test("linux.personality: LINUX32 makes uname -m print i686; an unknown domain is refused", async () => {
  const r = await runScript("uname -m", (s) => {
    if (s.linux) s.linux.personality = { domain: "LINUX32" };
  });
  assert.equal(r.status, 0, r.err);
  assert.equal(r.out.trim(), "i686");
  const plain = await runScript("uname -m", (s) => {
    if (s.linux) s.linux.personality = { domain: "LINUX" };
  });
  assert.equal(plain.out.trim(), machine());
  const bad = await runScript("true", (s) => {
    if (s.linux) (s.linux as Record<string, unknown>).personality = { domain: "BSD" };
  });
  assert.equal(bad.status, 1);
  assert.match(bad.err, /linux\.personality\.domain: must be LINUX or LINUX32/);
});

/** Accepts one connection on `path`; resolves with the JSON payload and what the passed fd is. */
function seccompAgent(path: string): { ready: Promise<void>; received: Promise<string> } {
  const py = `
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 65536, 4)
while True:
    more = c.recv(65536)
    if not more:
        break
    msg += more
kinds = [os.readlink("/proc/self/fd/%d" % fd) for fd in fds]
sys.stdout.write(msg.decode() + "\\n" + ",".join(kinds) + "\\n")
`;
  const { ready, output } = pythonSocketAgent(py, path);
  return { ready, received: output };
}

test("seccomp SCMP_ACT_NOTIFY: the listener fd and the container process state go to listenerPath", async () => {
  const sock = join(tmp, `agent-${process.pid}.sock`);
  const agent = seccompAgent(sock);
  await agent.ready;
  const metadata = 'MKNOD=/dev/null;quote"and\\backslash';
  const { dir, id } = await bundle(
    scriptSpec("echo ok", (s) => {
      s.annotations = { "org.example.key": "value" };
      if (s.linux)
        s.linux.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          listenerPath: sock,
          listenerMetadata: metadata,
          syscalls: [{ names: ["mkdirat"], action: "SCMP_ACT_NOTIFY" }],
        };
    }),
  );
  const r = pier("run", "--bundle", dir, id);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "ok\n");
  const [json = "", fdKinds] = (await agent.received).split("\n");
  const msg = JSON.parse(json);
  assert.deepEqual(msg.fds, ["seccompFd"]);
  assert.equal(fdKinds, "anon_inode:seccomp notify");
  assert.equal(msg.metadata, metadata);
  assert.equal(typeof msg.ociVersion, "string");
  assert.ok(msg.pid > 1, "pid as the runtime sees it");
  assert.deepEqual(msg.state, {
    ociVersion: msg.ociVersion,
    id,
    bundle: dir,
    annotations: { "org.example.key": "value" },
    status: "creating",
    pid: msg.pid,
  });

  // Nobody listening: create fails naming the socket, and the id is free again.
  const missing = await bundle(
    scriptSpec("true", (s) => {
      if (s.linux)
        s.linux.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          listenerPath: join(tmp, "nobody.sock"),
          syscalls: [{ names: ["mkdirat"], action: "SCMP_ACT_NOTIFY" }],
        };
    }),
  );
  const failed = pier("create", "--bundle", missing.dir, missing.id);
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /seccomp listenerPath .*nobody\.sock/);
  assert.equal(pier("state", missing.id).status, 1);
});

test("seccomp: exec'd processes are bound by the container's profile too", async () => {
  const { dir, id } = await bundle(
    scriptSpec("sleep 60", (s) => {
      if (s.root) s.root.readonly = false;
      if (s.linux)
        s.linux.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
        };
    }),
  );
  assert.equal(pierDetached("run", "--detach", "--bundle", dir, id).status, 0);
  try {
    const e = pier("exec", id, "sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/x || echo denied");
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /Seccomp:\s+2/);
    assert.match(e.stdout, /denied/);
  } finally {
    pier("delete", "--force", id);
  }
});
