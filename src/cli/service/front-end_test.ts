/**
 * The `pier` native front end with its resident CLI service against a real pierd: output,
 * errors and exit codes are the command's; each command has its caller's environment; commands
 * that need the caller's own process (stdin, the local store) run the plain CLI instead;
 * signals reach `pier run`'s container or end a command that has no use for them; the service
 * starts on first use and leaves when idle.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import {
  type BusyboxRegistry,
  PIER_FRONT_END,
  runCommand,
  type TestDaemon,
  useTestDaemon,
} from "../../testing/engine.js";
import { servicePidsOn } from "../../testing/runtime.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
useTestDaemon({
  pull: true,
  ready: (fx) => {
    ({ reg, d } = fx);
  },
});

let tmp = "";
const env: NodeJS.ProcessEnv = {};

before(async () => {
  tmp = await makeTempDir("pier-cli-fe-");
});

/** The front end's environment: its own service socket, a short idle time, the test daemon. */
function feEnv(): NodeJS.ProcessEnv {
  env.PATH ??= process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin";
  env.PIER_HOST = d.socket;
  env.PIER_CLI_SERVICE_SOCKET = join(tmp, "cli.sock");
  env.PIER_CLI_SERVICE_IDLE_MS = "1500";
  return env;
}

after(async () => {
  for (const pid of servicePids()) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {}
  }
  await removeTempDir(tmp);
});

const servicePids = () => servicePidsOn(join(tmp, "cli.sock"));

function fe(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  return runCommand(PIER_FRONT_END, args, { input: opts.input, env: { ...feEnv(), ...opts.env } });
}

/** Starts the front end with pipes, resolving once `marker` appeared on its stdout. */
async function started(args: string[], marker: string) {
  const child = spawn(PIER_FRONT_END, args, { env: feEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    err += c.toString();
  });
  // A signal that went nowhere leaves the command running: it is killed, and the test fails.
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const closed = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    }),
  );
  const deadline = Date.now() + 30_000;
  while (!out.includes(marker)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${marker}: ${out} ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, closed };
}

test("the service starts on first use; output, errors and exit codes are the command's", async () => {
  assert.deepEqual(servicePids(), []);
  // Started by a caller with another PIER_HOST: later commands must not use the service's own.
  const v = await fe(["--version"], { env: { PIER_HOST: join(tmp, "elsewhere.sock") } });
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
  assert.equal(servicePids().length, 1, "one service answers");

  const run = await fe([
    "run",
    "--rm",
    "--network",
    "none",
    reg.image,
    "sh",
    "-c",
    "echo out; echo err >&2; exit 3",
  ]);
  assert.equal(run.status, 3, run.stderr);
  assert.equal(run.stdout, "out\n");
  assert.equal(run.stderr, "err\n");

  const id = (await fe(["run", "-d", "--name", "fe-detached", "--network", "none", reg.image, "sleep", "60"]))
    .stdout;
  assert.match(id, /^[0-9a-f]{64}\n$/);
  const ps = await fe(["ps", "--format", "json"]);
  assert.equal(ps.status, 0, ps.stderr);
  assert.ok(
    ps.stdout
      .trim()
      .split("\n")
      .some((l) => (JSON.parse(l) as { Names: string }).Names === "fe-detached"),
  );
  const rm = await fe(["rm", "-f", "fe-detached"]);
  assert.equal(rm.status, 0, rm.stderr);
  assert.equal(rm.stdout, "fe-detached\n");

  const missing = await fe(["rm", "nosuch"]);
  assert.equal(missing.status, 3);
  assert.match(missing.stderr, /^pier: .*nosuch.*\[NOT_FOUND\]\n$/);
  const usage = await fe(["ps", "--bogus"]);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /unknown option '--bogus'/);
  assert.equal(servicePids().length, 1, "still the same one service");
});

test("each command runs with its caller's environment", async () => {
  const [good, bad] = await Promise.all([
    fe(["ps", "-q"]),
    fe(["ps", "-q"], { env: { PIER_HOST: join(tmp, "no-daemon.sock") } }),
  ]);
  assert.equal(good.status, 0, good.stderr);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /cannot reach pierd at .*no-daemon\.sock/);
});

test("commands that need the caller's own process run the plain CLI", async () => {
  // stdin reaches the container only when the front end's own process is the CLI.
  const piped = await fe(["run", "--rm", "-i", "--network", "none", reg.image, "cat"], {
    input: "from stdin\n",
  });
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(piped.stdout, "from stdin\n");
  // The local image store is the caller's files: `image ls` in an empty root.
  const ls = await fe(["--root", join(tmp, "store"), "image", "ls", "--format", "json"]);
  assert.equal(ls.status, 0, ls.stderr);
  assert.deepEqual(JSON.parse(ls.stdout), []);
});

test("signals go to pier run's container; a command without a use for them ends", async () => {
  const run = await started(
    [
      "run",
      "--rm",
      "--network",
      "none",
      reg.image,
      "sh",
      "-c",
      "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.1; done",
    ],
    "ready",
  );
  run.child.kill("SIGTERM");
  const r = await run.closed;
  assert.equal(r.code, 42, r.err);
  assert.equal(r.out, "ready\ngot-term\n");

  await fe([
    "run",
    "-d",
    "--name",
    "fe-logs",
    "--network",
    "none",
    reg.image,
    "sh",
    "-c",
    "echo line; sleep 60",
  ]);
  const logs = await started(["logs", "-f", "fe-logs"], "line");
  const t0 = Date.now();
  logs.child.kill("SIGINT");
  const l = await logs.closed;
  assert.equal(l.code, 130);
  assert.ok(Date.now() - t0 < 5000, "logs -f ends at once");
  await fe(["rm", "-f", "fe-logs"]);
});

test("the service leaves when idle; PIER_CLI_DIRECT runs without it", async () => {
  const deadline = Date.now() + 10_000;
  while (servicePids().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(servicePids(), [], "gone after its idle time");
  const direct = await fe(["ps", "-q"], { env: { PIER_CLI_DIRECT: "1" } });
  assert.equal(direct.status, 0, direct.stderr);
  assert.deepEqual(servicePids(), [], "not started in direct mode");
});
