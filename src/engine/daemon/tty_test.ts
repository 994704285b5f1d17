/**
 * Terminals, attach, exec and log rotation through the stock `docker` CLI against pierd. The CLI
 * insists on a terminal for `-t` with `-i`: it runs under a pty of a set size ({@link ptyDialogue}),
 * which types the input once the shell shows what each line waits for.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  type BusyboxRegistry,
  type CommandResult,
  docker,
  dockerEnv,
  pier,
  pierCommand,
  requireDocker,
  type TestDaemon,
  useTestDaemon,
} from "../../testing/engine.js";
import { type PtyStep, ptyDialogue } from "../../testing/pty-dialogue.js";
import { socketRequest } from "../../testing/socket-request.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
useTestDaemon({
  ready: (fx) => {
    ({ reg, d } = fx);
  },
  pull: true,
});

/** `pier ARGS` as one argv (through the native front end unless PIER_TEST_CLI=direct). */
function pierArgv(args: string[]): string[] {
  const [cmd, rest] = pierCommand(args);
  return [cmd, ...rest];
}

/** Runs `argv` on a terminal of `rows`x`cols`, typing `steps` (see {@link PtyStep}). */
function onTty(argv: string[], steps: PtyStep[], rows: number, cols: number): Promise<CommandResult> {
  return ptyDialogue(argv, steps, { env: { ...dockerEnv(d), PIER_HOST: d.socket }, seconds: 60, rows, cols });
}

/** Runs the docker CLI on a terminal. */
function dockerOnTty(args: string[], steps: PtyStep[] = [], rows = 24, cols = 80): Promise<CommandResult> {
  return onTty([requireDocker(), ...args], steps, rows, cols);
}

/** POSTs to the Docker socket; resolves with the status. */
async function post(path: string): Promise<number> {
  return (await socketRequest(d.dockerSocket, "POST", path)).status;
}

/** A JSON request to the Docker socket. */
async function api(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await socketRequest(
    d.dockerSocket,
    method,
    path,
    body === undefined ? undefined : JSON.stringify(body),
    body === undefined ? undefined : { "Content-Type": "application/json" },
  );
  return { status: r.status, json: r.body ? JSON.parse(r.body) : {} };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(f: () => Promise<T | undefined>, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await sleep(100);
  }
}

test("docker run -t gives a real terminal, raw output (no frame headers) and the exit code", async () => {
  const r = await docker(d, [
    "run",
    "--rm",
    "-t",
    reg.image,
    "sh",
    "-c",
    "tty; test -t 0 && echo stdin-is-tty; echo $TERM; exit 5",
  ]);
  assert.equal(r.status, 5, r.stderr);
  // The pty turns \n into \r\n, as Docker's; no 8-byte header anywhere.
  assert.equal(r.stdout, "/dev/pts/0\r\nstdin-is-tty\r\nxterm\r\n");
});

test("a UTF-8 character written in two parts on a terminal arrives whole", async () => {
  const r = await docker(d, [
    "run",
    "--rm",
    "-t",
    reg.image,
    "sh",
    "-c",
    "printf '\\303'; sleep 0.3; printf '\\251!\\n'",
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "\u00e9!\r\n");
});

test("docker run -it: typed input reaches the shell; its terminal has the client's size", async () => {
  const r = await dockerOnTty(
    ["run", "--rm", "-it", reg.image, "sh"],
    [
      ["/ # ", "stty size\r"],
      ["33 101", "echo typed-$((6*7))\r"],
      ["typed-42", "exit 3\r"],
    ],
    33,
    101,
  );
  assert.equal(r.status, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /33 101/);
  assert.match(r.stdout, /typed-42/);
});

test("docker attach to a running -it container; resize reaches the terminal", async () => {
  const c = await docker(d, ["run", "-dit", "--name", "tty-attach", reg.image, "sh"]);
  assert.equal(c.status, 0, c.stderr);
  const id = c.stdout.trim();
  const r = await dockerOnTty(
    ["attach", "tty-attach"],
    [
      // Its prompt came before the attach: nothing to wait for but the attach itself.
      [1500, "stty size\r"],
      ["40 120", "echo attached-$((2+3))\r"],
      ["attached-5", "exit 9\r"],
    ],
    40,
    120,
  );
  assert.equal(r.status, 9, r.stdout + r.stderr);
  assert.match(r.stdout, /40 120/);
  assert.match(r.stdout, /attached-5/);
  const w = await docker(d, ["wait", id]);
  assert.equal(w.stdout.trim(), "9");
  // The API's own resize, with a program that prints the size after it changed.
  const s = await docker(d, [
    "run",
    "-dt",
    reg.image,
    "sh",
    "-c",
    "trap 'stty size' WINCH; while :; do sleep 0.1; done",
  ]);
  const sid = s.stdout.trim();
  await until(async () =>
    (await docker(d, ["inspect", "-f", "{{.State.Running}}", sid])).stdout.trim() === "true"
      ? true
      : undefined,
  );
  await sleep(300);
  assert.equal(await post(`/v1.41/containers/${sid}/resize?h=17&w=63`), 200);
  await until(async () => ((await docker(d, ["logs", sid])).stdout.includes("17 63") ? true : undefined));
  await docker(d, ["rm", "-f", sid, id]);
});

test("ctrl-p ctrl-q detaches docker and pier from a -it container, which keeps running", async () => {
  const c = await docker(d, ["run", "-dit", "--name", "tty-detach", reg.image, "sh"]);
  assert.equal(c.status, 0, c.stderr);
  const r = await dockerOnTty(
    ["attach", "tty-detach"],
    [
      [1200, "echo before-detach\r"],
      ["\nbefore-detach", "\x10\x11"],
    ],
    24,
    80,
  );
  // The CLI itself spots the keys; as Docker's, it says so (and exits 1 from attach).
  assert.match(r.stdout + r.stderr, /read escape sequence/);
  const p = await onTty(
    pierArgv(["attach", "tty-detach"]),
    [
      [1200, "echo pier-before-detach\r"],
      ["\npier-before-detach", "\x10\x11"],
    ],
    24,
    80,
  );
  assert.equal(p.status, 0, p.stdout + p.stderr);
  assert.equal(
    (await docker(d, ["inspect", "-f", "{{.State.Running}}", "tty-detach"])).stdout.trim(),
    "true",
  );
  const logs = await docker(d, ["logs", "tty-detach"]);
  assert.match(logs.stdout, /\nbefore-detach\r?\n/);
  assert.match(logs.stdout, /\npier-before-detach\r?\n/);
  await docker(d, ["rm", "-f", "tty-detach"]);
});

test("docker exec -t and -it run on a terminal with the exec's exit code", async () => {
  const c = await docker(d, ["run", "-d", reg.image, "sleep", "120"]);
  const id = c.stdout.trim();
  const t = await docker(d, ["exec", "-t", id, "sh", "-c", "tty; echo $TERM; exit 6"]);
  assert.equal(t.status, 6, t.stderr);
  assert.equal(t.stdout, "/dev/pts/0\r\nxterm\r\n");
  const it = await dockerOnTty(
    ["exec", "-it", id, "sh"],
    [
      ["/ # ", "stty size\r"],
      ["21 66", "echo exec-$((3*3))\r"],
      ["exec-9", "exit 4\r"],
    ],
    21,
    66,
  );
  assert.equal(it.status, 4, it.stdout + it.stderr);
  assert.match(it.stdout, /21 66/);
  assert.match(it.stdout, /exec-9/);
  // Without a terminal: piped stdin, framed output, exit code also on /exec/{id}/json.
  const i = await docker(d, ["exec", "-i", id, "sh", "-c", "read x; echo got-$x; exit 2"], {
    input: "line\n",
  });
  assert.equal(i.status, 2, i.stderr);
  assert.equal(i.stdout, "got-line\n");
  // As Docker: what cannot be started exits 126 saying why; user names come from the container.
  const missing = await docker(d, ["exec", "-t", id, "nosuchcmd"]);
  assert.equal(missing.status, 126);
  assert.match(missing.stdout, /executable file not found/);
  const named = await docker(d, ["exec", "-u", "nobody", id, "id", "-u"]);
  assert.equal(named.stdout, "65534\n", named.stderr);
  const nouser = await docker(d, ["exec", "-u", "nosuchuser", id, "true"]);
  assert.equal(nouser.status, 126);
  assert.match(nouser.stdout, /nosuchuser/);
  // A detached exec's exit code, as the API's /exec/{id}/json reports it.
  const created = await api("POST", `/v1.41/containers/${id}/exec`, {
    Cmd: ["sh", "-c", "sleep 0.3; exit 13"],
  });
  assert.equal(created.status, 201);
  const eid = String(created.json.Id);
  assert.equal((await api("POST", `/v1.41/exec/${eid}/start`, { Detach: true })).status, 200);
  const info = await until(async () => {
    const j = (await api("GET", `/v1.41/exec/${eid}/json`)).json;
    return j.Running === false && j.ExitCode !== null ? j : undefined;
  });
  assert.equal(info.ExitCode, 13);
  assert.equal((await api("GET", "/v1.41/exec/0123abcd/json")).status, 404);
  await docker(d, ["rm", "-f", id]);
});

test("pier exec and pier attach pass output and exit codes through", async () => {
  const c = await docker(d, [
    "run",
    "-di",
    "--name",
    "pier-att",
    reg.image,
    "sh",
    "-c",
    "read x; echo echo-$x; exit 12",
  ]);
  assert.equal(c.status, 0, c.stderr);
  const e = await pier(d, ["exec", "pier-att", "sh", "-c", "echo out; echo err >&2; exit 7"]);
  assert.equal(e.status, 7, e.stderr);
  assert.equal(e.stdout, "out\n");
  assert.equal(e.stderr, "err\n");
  const i = await pier(
    d,
    ["exec", "-i", "-e", "A=b", "-w", "/tmp", "pier-att", "sh", "-c", "read l; echo $l-$A-$(pwd)"],
    {
      input: "in\n",
    },
  );
  assert.equal(i.status, 0, i.stderr);
  assert.equal(i.stdout, "in-b-/tmp\n");
  const u = await pier(d, ["exec", "-u", "65534", "pier-att", "id", "-u"]);
  assert.equal(u.stdout, "65534\n", u.stderr);
  const t = await onTty(
    pierArgv(["exec", "-it", "pier-att", "sh"]),
    [
      ["/ # ", "stty size\r"],
      ["29 91", "echo pier-tty-$((4*4))\r"],
      ["pier-tty-16", "exit 8\r"],
    ],
    29,
    91,
  );
  assert.equal(t.status, 8, t.stdout + t.stderr);
  assert.match(t.stdout, /29 91/);
  assert.match(t.stdout, /pier-tty-16/);
  const a = await pier(d, ["attach", "pier-att"], { input: "hello\n" });
  assert.equal(a.status, 12, a.stderr);
  assert.equal(a.stdout, "echo-hello\n");
  const missing = await pier(d, ["exec", "nosuch", "true"]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /nosuch/);
  await docker(d, ["rm", "-f", "pier-att"]);
});

test("pier run -i and -it attach before the start, with the container's exit code", async () => {
  const i = await pier(d, ["run", "--rm", "-i", reg.image, "sh", "-c", "read x; echo got-$x; exit 3"], {
    input: "piped\n",
  });
  assert.equal(i.status, 3, i.stderr);
  assert.equal(i.stdout, "got-piped\n");
  const t = await onTty(
    pierArgv(["run", "--rm", "-it", reg.image, "sh"]),
    [
      ["/ # ", "stty size\r"],
      ["27 88", "echo run-tty-$((5*5))\r"],
      ["run-tty-25", "exit 2\r"],
    ],
    27,
    88,
  );
  assert.equal(t.status, 2, t.stdout + t.stderr);
  assert.match(t.stdout, /27 88/);
  assert.match(t.stdout, /run-tty-25/);
  const ps = await docker(d, ["ps", "-aq"]);
  assert.equal(ps.stdout.trim(), "", "--rm removed them");
});

test("docker run -di keeps stdin open across attaches (no StdinOnce); run -i closes it", async () => {
  const c = await docker(d, [
    "run",
    "-di",
    "--name",
    "keep-in",
    reg.image,
    "sh",
    "-c",
    'read a; read b; echo "$a+$b"',
  ]);
  assert.equal(c.status, 0, c.stderr);
  // The first client's input ends, the container's stdin does not: the second one writes on.
  const first = pier(d, ["attach", "keep-in"], { input: "one\n" });
  await sleep(800);
  const second = await pier(d, ["attach", "keep-in"], { input: "two\n" });
  assert.equal(second.stdout, "one+two\n", second.stderr);
  assert.equal((await first).stdout, "one+two\n");
  const once = await docker(
    d,
    ["run", "--rm", "-i", reg.image, "sh", "-c", 'read a; read b || echo "eof-after-$a"'],
    {
      input: "only\n",
    },
  );
  assert.equal(once.stdout, "eof-after-only\n", once.stderr);
  await docker(d, ["rm", "-f", "keep-in"]);
});

test("a container that writes before it reads its stdin does not stall the monitor", async () => {
  // Stdin fills its pipe while the container is busy writing: a monitor that blocked on stdin
  // would stop draining the output, and both would wait forever.
  const input = `${"y".repeat(99)}\n`.repeat(5000);
  const r = await docker(
    d,
    ["run", "--rm", "-i", reg.image, "sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x; echo; wc -c"],
    { input, timeout: 30000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.length, 3000000 + 1 + "500000\n".length);
  assert.match(r.stdout, /\n500000\n$/);
});

test("log rotation: max-size/max-file rotate in the monitor; logs read across files, -f follows", async () => {
  const c = await docker(d, [
    "run",
    "-d",
    "--log-opt",
    "max-size=2k",
    "--log-opt",
    "max-file=3",
    reg.image,
    "sh",
    "-c",
    "i=0; while [ $i -lt 60 ]; do i=$((i+1)); echo line-$i-padding-padding-padding; sleep 0.05; done; sleep 2; echo last",
  ]);
  assert.equal(c.status, 0, c.stderr);
  const id = c.stdout.trim();
  const follow = docker(d, ["logs", "-f", "--tail", "2", id]);
  const w = await docker(d, ["wait", id]);
  assert.equal(w.stdout.trim(), "0");
  const f = await follow;
  const dir = join(d.root, "containers", id);
  const files = readdirSync(dir)
    .filter((n) => n.startsWith(`${id}-json.log`))
    .sort();
  assert.deepEqual(files, [`${id}-json.log`, `${id}-json.log.1`, `${id}-json.log.2`]);
  for (const n of files)
    assert.ok(readFileSync(join(dir, n)).length < 2000 + 200, `${n} stays near max-size`);
  const all = await docker(d, ["logs", id]);
  const lines = all.stdout.trim().split("\n");
  // Three files of about 2 kB keep the newest records; they are in order and end with the last one.
  assert.equal(lines.at(-1), "last");
  assert.ok(lines.length > 20 && lines.length < 61, `${lines.length} lines kept`);
  const nums = lines.slice(0, -1).map((l) => Number(/line-(\d+)/.exec(l)?.[1]));
  assert.deepEqual(
    nums,
    nums.map((_, i) => nums[0]! + i),
  );
  assert.equal(nums.at(-1), 60);
  const tail = await docker(d, ["logs", "--tail", "3", "-t", id]);
  const tl = tail.stdout.trim().split("\n");
  assert.equal(tl.length, 3);
  assert.match(tl[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z line-59-/);
  // -f started with the two newest records and followed through every rotation to the end.
  const fl = f.stdout.trim().split("\n");
  const fnums = fl.slice(0, -1).map((l) => Number(/line-(\d+)/.exec(l)?.[1]));
  assert.equal(fl.at(-1), "last");
  assert.deepEqual(
    fnums,
    fnums.map((_, i) => fnums[0]! + i),
  );
  assert.equal(fnums.at(-1), 60);
  // since/until across files: the second half of the records by their own timestamps.
  const stamped = (await docker(d, ["logs", "-t", id])).stdout.trim().split("\n");
  const mid = stamped[Math.floor(stamped.length / 2)]!.split(" ")[0]!;
  const since = await docker(d, ["logs", "--since", mid, id]);
  assert.equal(since.stdout.trim().split("\n").length, stamped.length - Math.floor(stamped.length / 2));
  const untilR = await docker(d, ["logs", "--until", mid, id]);
  assert.equal(untilR.stdout.trim().split("\n").length, Math.floor(stamped.length / 2));
  // pier logs reads the same files with the same selections.
  const pl = await pier(d, ["logs", "-t", "--tail", "2", id]);
  assert.equal(pl.status, 0, pl.stderr);
  assert.deepEqual(pl.stdout.trim().split("\n"), stamped.slice(-2));
  const ps = await pier(d, ["logs", "--since", mid, "--until", String(Date.now() / 1000 + 60), id]);
  assert.equal(ps.stdout, since.stdout);
  const inspect = await docker(d, ["inspect", "-f", "{{json .HostConfig.LogConfig}}", id]);
  assert.equal(inspect.stdout.trim(), '{"Type":"json-file","Config":{"max-file":"3","max-size":"2k"}}');
  const pr = await pier(d, [
    "run",
    "-d",
    "--log-opt",
    "max-size=1k",
    "--log-opt",
    "max-file=2",
    reg.image,
    "sh",
    "-c",
    "i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo pier-line-$i-padding-padding; done",
  ]);
  assert.equal(pr.status, 0, pr.stderr);
  const pid = pr.stdout.trim();
  assert.equal((await docker(d, ["wait", pid])).stdout.trim(), "0");
  const pdir = join(d.root, "containers", pid);
  const pfiles = readdirSync(pdir).filter((n) => n.startsWith(`${pid}-json.log`));
  assert.deepEqual(pfiles.sort(), [`${pid}-json.log`, `${pid}-json.log.1`]);
  assert.match((await pier(d, ["logs", pid])).stdout, /pier-line-40-/);
  await docker(d, ["rm", pid]);
  const bad = await docker(d, [
    "run",
    "--rm",
    "--log-opt",
    "max-file=0",
    "--log-opt",
    "max-size=1k",
    reg.image,
    "true",
  ]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /max-file cannot be less than 1/);
  await docker(d, ["rm", id]);
});

test("a TTY container's monitor stays under 5 MB resident", async () => {
  const c = await docker(d, ["run", "-dit", reg.image, "sh"]);
  const id = c.stdout.trim();
  const pid = Number((await docker(d, ["inspect", "-f", "{{.State.Pid}}", id])).stdout.trim());
  const ppid = Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
  assert.match(readFileSync(`/proc/${ppid}/cmdline`, "utf8"), /pier-monitor/);
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${ppid}/status`, "utf8"))?.[1]);
  assert.ok(rss > 0 && rss < 5 * 1024, `monitor RSS ${rss} kB must stay under 5 MB`);
  await docker(d, ["rm", "-f", id]);
});

test("a TTY container outlives a pierd crash: resize, exec -t and its log still work", async () => {
  const c = await docker(d, [
    "run",
    "-dt",
    "--name",
    "tty-crash",
    reg.image,
    "sh",
    "-c",
    "trap 'stty size' WINCH; echo before; while :; do sleep 0.1; done",
  ]);
  assert.equal(c.status, 0, c.stderr);
  await until(async () =>
    (await docker(d, ["logs", "tty-crash"])).stdout.includes("before") ? true : undefined,
  );
  await d.crash();
  await d.restart();
  assert.equal(await post("/v1.41/containers/tty-crash/resize?h=12&w=34"), 200);
  await until(async () =>
    (await docker(d, ["logs", "tty-crash"])).stdout.includes("12 34") ? true : undefined,
  );
  const e = await docker(d, ["exec", "-t", "tty-crash", "sh", "-c", "exit 5"]);
  assert.equal(e.status, 5, e.stderr);
  await docker(d, ["rm", "-f", "tty-crash"]);
});

test("a restarted TTY container gets a fresh terminal that resizes", async () => {
  const c = await docker(d, [
    "run",
    "-dt",
    "--name",
    "tty-restart",
    reg.image,
    "sh",
    "-c",
    "trap 'stty size; exit 0' WINCH; while :; do sleep 0.1; done",
  ]);
  assert.equal(c.status, 0, c.stderr);
  for (const size of ["11 22", "33 44"]) {
    const r = await docker(d, ["restart", "-t", "1", "tty-restart"]);
    assert.equal(r.status, 0, r.stderr);
    await sleep(300);
    const [h, w] = size.split(" ");
    assert.equal(await post(`/v1.41/containers/tty-restart/resize?h=${h}&w=${w}`), 200);
    await until(async () =>
      (await docker(d, ["logs", "tty-restart"])).stdout.includes(size) ? true : undefined,
    );
  }
  await docker(d, ["rm", "-f", "tty-restart"]);
});

test("pier run without a terminal passes ctrl-c on to the container (docker's --sig-proxy)", async () => {
  const [cmd, args] = pierCommand([
    "run",
    "--rm",
    reg.image,
    "sh",
    "-c",
    "trap 'echo got-int; exit 5' INT; echo ready; while :; do sleep 0.1; done",
  ]);
  const child = spawn(cmd, args, {
    env: { ...process.env, PIER_HOST: d.socket },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  await until(async () => (out.includes("ready") ? true : undefined));
  child.kill("SIGINT");
  assert.equal(await exited, 5);
  assert.equal(out, "ready\ngot-int\n");
});

test("a -t container whose init closes its terminal and writes to /dev/console later (as systemd does) is still logged", async () => {
  // systemd as PID 1 points its stdio at /dev/null and opens /dev/console anew for each message:
  // for a moment no process holds the pty's slave end, which must not end the console.
  const c = await pier(d, [
    "run",
    "-d",
    "-t",
    "--name",
    "tty-console",
    reg.image,
    "sh",
    "-c",
    "exec </dev/null >/dev/null 2>&1; sleep 0.3; echo first >/dev/console; sleep 0.3; echo second >/dev/console; exec sleep 100",
  ]);
  assert.equal(c.status, 0, c.stderr);
  await until(async () => {
    const logs = (await pier(d, ["logs", "tty-console"])).stdout;
    return logs.includes("second") ? logs : undefined;
  });
  assert.equal((await pier(d, ["logs", "tty-console"])).stdout, "first\r\nsecond\r\n");
  const stop = await pier(d, ["rm", "-f", "tty-console"]);
  assert.equal(stop.status, 0, stop.stderr);
});
