/**
 * The native front end with the resident service, as podman runs it: output, exit codes,
 * relative paths against the caller's directory, --preserve-fds, signals, concurrency, the
 * service starting on demand and leaving when idle, and a service that dies mid-command.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { FRONT_END_PATH, scriptSpec, servicePidsOn, writeBundle } from "../../testing/runtime.js";

let tmp = "";
let root = "";
let env: NodeJS.ProcessEnv = {};
let rootfs = "";

/** Runs the front end; `detached`: the container keeps no pipe of this test's (create, run -d). */
function fe(args: string[], opts: { input?: string; detached?: boolean } = {}) {
  const r = spawnSync(FRONT_END_PATH, ["--root", root, ...args], {
    cwd: tmp,
    env,
    encoding: "utf8",
    ...(opts.detached ? { stdio: "ignore" as const } : { input: opts.input ?? "" }),
    timeout: 60000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const servicePids = () => servicePidsOn(env.PIER_RUNTIME_SERVICE_SOCKET ?? "");

async function bundle(name: string, script: string): Promise<string> {
  const dir = join(tmp, name);
  await writeBundle(dir, scriptSpec(script), rootfs);
  return dir;
}

before(async () => {
  tmp = await makeTempDir("pier-fe-");
  root = join(tmp, "state");
  rootfs = join(tmp, "shared", "rootfs");
  await writeBundle(join(tmp, "shared"), scriptSpec("true"));
  env = {
    PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
    PIER_RUNTIME_SERVICE_SOCKET: join(tmp, "service.sock"),
    PIER_RUNTIME_SERVICE_IDLE_MS: "1500",
  };
});

after(async () => {
  for (const pid of servicePids()) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {}
  }
  await removeTempDir(tmp);
});

test("the service starts on first use; output, errors and exit codes are the command's", async () => {
  assert.deepEqual(servicePids(), []);
  const v = fe(["--version"]);
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^pier-runtime version/);
  assert.equal(servicePids().length, 1, "one service answers");
  await bundle("b1", "echo out; echo err >&2; exit 7");
  const run = fe(["run", "-b", "b1", "fe-1"]);
  assert.equal(run.status, 7);
  assert.equal(run.stdout, "out\n");
  assert.equal(run.stderr, "err\n");
  const missing = fe(["state", "nosuch"]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /container does not exist/);
  const usage = fe(["frobnicate"]);
  assert.equal(usage.status, 1);
  assert.match(usage.stderr, /Incorrect Usage/);
  const bad = await bundle("b2", "true");
  writeFileSync(join(bad, "config.json"), "{broken");
  const invalid = fe(["create", "-b", "b2", "fe-2"]);
  assert.equal(invalid.status, 1);
  assert.match(invalid.stderr, /config\.json/);
  assert.equal(fe(["state", "fe-2"]).status, 1, "nothing left of a failed create");
});

test("pier-init starts while the plan is made: warnings come first, a failure after it leaves nothing", async () => {
  // The caller becomes pier-init before the service has made the plan (launchEarly): what the
  // service says meanwhile is relayed at once, not after the container ran.
  const dir = join(tmp, "warned");
  await writeBundle(
    dir,
    scriptSpec("echo from-container >&2", (s) => {
      if (s.linux) s.linux.personality = { domain: "LINUX", flags: ["nonsense"] };
    }),
    rootfs,
  );
  const run = fe(["--debug", "run", "--bundle", dir, "fe-warn"]);
  assert.equal(run.status, 0, run.stderr);
  const warning = run.stderr.indexOf("linux.personality.flags");
  assert.ok(warning >= 0, run.stderr);
  assert.ok(warning < run.stderr.indexOf("from-container"), `the warning comes first: ${run.stderr}`);
  // A failure once pier-init runs (the id is taken: claim fails after the early start).
  const c = fe(["create", "--bundle", dir, "fe-taken"], { detached: true });
  assert.equal(c.status, 0);
  const again = fe(["create", "--bundle", dir, "fe-taken"]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /container with id exists: fe-taken/);
  assert.doesNotMatch(again.stderr, /pier-init/, "pier-init adds nothing of its own");
  assert.equal(JSON.parse(fe(["state", "fe-taken"]).stdout).status, "created", "the first one is untouched");
  assert.equal(fe(["delete", "--force", "fe-taken"]).status, 0);
});

test("create returns once created, with the pid file written relative to the caller", async () => {
  await bundle("b3", "sleep 30");
  const c = fe(["create", "--bundle", "b3", "--pid-file", "b3/pid", "fe-3"], { detached: true });
  assert.equal(c.status, 0, c.stderr);
  const pid = Number(readFileSync(join(tmp, "b3", "pid"), "utf8"));
  const state = JSON.parse(fe(["state", "fe-3"]).stdout) as { status: string; pid: number; bundle: string };
  assert.equal(state.status, "created");
  assert.equal(state.pid, pid);
  assert.equal(state.bundle, join(tmp, "b3"));
  assert.equal(fe(["start", "fe-3"]).status, 0);
  const ex = fe(["exec", "fe-3", "sh", "-c", "exit 5"]);
  assert.equal(ex.status, 5);
  assert.equal(fe(["exec", "fe-3", "cat"], { input: "piped stdin\n" }).stdout, "piped stdin\n");
  assert.equal(fe(["kill", "fe-3", "KILL"]).status, 0);
  for (let i = 0; i < 100 && JSON.parse(fe(["state", "fe-3"]).stdout).status !== "stopped"; i++)
    await new Promise((r) => setTimeout(r, 20));
  assert.equal(fe(["delete", "fe-3"]).status, 0);
});

test("--preserve-fds, stdin and signals reach the container as under runc", async () => {
  const dir = await bundle("b4", "ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; cat <&3");
  writeFileSync(join(tmp, "extra"), "preserved\n");
  const fd = openSync(join(tmp, "extra"), "r");
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(FRONT_END_PATH, ["--root", root, "run", "--preserve-fds", "1", "-b", dir, "fe-4"], {
        env,
        stdio: ["ignore", "pipe", "inherit", fd],
      });
      let s = "";
      child.stdout?.on("data", (d: Buffer) => {
        s += d.toString();
      });
      child.on("error", reject);
      child.on("exit", () => resolve(s));
    });
    assert.match(out, /^0 1 2 3 4 $/m, "no service socket leaks into the container");
    assert.match(out, /^preserved$/m);
  } finally {
    closeSync(fd);
  }
  const sleeper = await bundle("b5", "trap 'exit 42' TERM; sleep 30 & wait");
  const child = spawn(FRONT_END_PATH, ["--root", root, "run", "-b", sleeper, "fe-5"], {
    env,
    stdio: "ignore",
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  for (let i = 0; i < 200 && fe(["state", "fe-5"]).status !== 0; i++)
    await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
  child.kill("SIGTERM");
  assert.equal(await exited, 42, "SIGTERM to the caller reaches the container");
  assert.equal(fe(["state", "fe-5"]).status, 1, "run deleted the container");
});

test("concurrent commands are served side by side", async () => {
  const dirs = await Promise.all([0, 1, 2, 3].map((i) => bundle(`c${i}`, `echo c${i}; exit ${i}`)));
  const runs = dirs.map(
    (d, i) =>
      new Promise<[number | null, string]>((resolve) => {
        const child = spawn(FRONT_END_PATH, ["--root", root, "run", "-b", d, `fe-c${i}`], { env });
        let s = "";
        child.stdout.on("data", (b: Buffer) => {
          s += b.toString();
        });
        child.on("exit", (code) => resolve([code, s]));
      }),
  );
  assert.deepEqual(await Promise.all(runs), [
    [0, "c0\n"],
    [1, "c1\n"],
    [2, "c2\n"],
    [3, "c3\n"],
  ]);
});

test("a service that dies mid-command fails the caller clearly; the next call starts a new one", async () => {
  const dir = await bundle("b6", "sleep 30");
  assert.equal(fe(["run", "-d", "-b", dir, "fe-6"], { detached: true }).status, 0);
  const child = spawn(FRONT_END_PATH, ["--root", root, "events", "--interval", "1s", "fe-6"], { env });
  let err = "";
  child.stderr.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const code = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  await new Promise((r) => setTimeout(r, 300));
  for (const pid of servicePids()) process.kill(pid, "SIGKILL");
  assert.equal(await code, 1);
  assert.match(err, /the runtime service went away/);
  const state = fe(["state", "fe-6"]);
  assert.equal(state.status, 0, state.stderr);
  assert.equal(JSON.parse(state.stdout).status, "running", "a new service took over");
  fe(["kill", "fe-6", "KILL"]);
  for (let i = 0; i < 100 && JSON.parse(fe(["state", "fe-6"]).stdout).status !== "stopped"; i++)
    await new Promise((r) => setTimeout(r, 20));
  assert.equal(fe(["delete", "fe-6"]).status, 0);
});

test("a rebuilt install: the old service turns callers away unanswered and a successor serves them", async () => {
  assert.equal(fe(["--version"]).status, 0);
  const [before] = servicePids();
  assert.ok(before, "a service runs");
  // What a rebuild does to the service's own files.
  const cli = fileURLToPath(new URL("../cli/cli.js", import.meta.url));
  const later = new Date(Date.now() + 5000);
  utimesSync(cli, later, later);
  const v = fe(["--version"]);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /^pier-runtime version/);
  for (let i = 0; i < 50 && servicePids().includes(before); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(!servicePids().includes(before), "the stale service left (a successor answered above)");
});

test("a starting service says on --ready-fd that it listens; one that cannot is still found", async () => {
  // PIER_NODE: a node that notes how the front end started the service (its argv, its fd 3).
  const node = join(tmp, "node.sh");
  writeFileSync(
    node,
    `#!/bin/sh\necho "$@" > "$NOTE.args"\nreadlink /proc/self/fd/3 > "$NOTE.fd3"\n` +
      `if [ "$CLOSE_READY" = 1 ]; then exec ${process.execPath} "$@" 3>&-; fi\nexec ${process.execPath} "$@"\n`,
    { mode: 0o755 },
  );
  for (const close of ["0", "1"]) {
    const sock = join(tmp, `ready-${close}.sock`);
    const note = join(tmp, `ready-${close}`);
    const saved = env;
    env = { ...env, PIER_NODE: node, NOTE: note, CLOSE_READY: close, PIER_RUNTIME_SERVICE_SOCKET: sock };
    try {
      await bundle(`br${close}`, "echo hi");
      const run = fe(["run", "-b", `br${close}`, `fe-ready-${close}`]);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout, "hi\n");
      assert.match(readFileSync(`${note}.args`, "utf8"), /--socket \S+ --ready-fd 3\n$/);
      assert.match(readFileSync(`${note}.fd3`, "utf8"), /^pipe:/, "fd 3 is the front end's pipe");
    } finally {
      for (const pid of servicePidsOn(sock)) process.kill(pid, "SIGTERM");
      env = saved;
    }
  }
});

test("a cold service's first run loads no built-in beyond a listening service's own", async () => {
  // node:fs/promises (with readline) and node:timers/promises cost a cold call ~1.3 ms of CPU
  // and the run path does not need them (src/common/sleep.ts, start's fifo read).
  const hook = join(tmp, "modules-hook.cjs");
  const out = join(tmp, "modules");
  writeFileSync(
    hook,
    `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(out)}, ` +
      `JSON.stringify(process.moduleLoadList)));\n`,
  );
  const node = join(tmp, "node-hook.sh");
  writeFileSync(node, `#!/bin/sh\nexec ${process.execPath} --require ${hook} "$@"\n`, { mode: 0o755 });
  const sock = join(tmp, "modules.sock");
  const saved = env;
  env = { ...env, PIER_NODE: node, PIER_RUNTIME_SERVICE_SOCKET: sock };
  try {
    await bundle("bm", "true");
    const run = fe(["run", "-b", "bm", "fe-modules"]);
    assert.equal(run.status, 0, run.stderr);
  } finally {
    for (const pid of servicePidsOn(sock)) process.kill(pid, "SIGTERM");
    env = saved;
  }
  for (let i = 0; i < 100 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 50));
  const loaded = JSON.parse(readFileSync(out, "utf8")) as string[];
  assert.ok(loaded.includes("NativeModule child_process"), "the list is the service's");
  for (const m of ["fs/promises", "timers/promises", "internal/readline/interface"])
    assert.ok(!loaded.includes(`NativeModule ${m}`), `${m} was loaded`);
});

test("the service leaves when idle; PIER_RUNTIME_DIRECT runs without it", async () => {
  for (let i = 0; i < 60 && servicePids().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(servicePids(), [], "gone after the idle time");
  assert.equal(existsSync(env.PIER_RUNTIME_SERVICE_SOCKET as string), false, "socket removed");
  const saved = env;
  env = { ...env, PIER_RUNTIME_DIRECT: "1" };
  try {
    await bundle("b7", "exit 3");
    assert.equal(fe(["run", "-b", "b7", "fe-7"]).status, 3);
    assert.deepEqual(servicePids(), []);
  } finally {
    env = saved;
  }
});
