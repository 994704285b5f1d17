/**
 * Checkpoint/restore of a container with a terminal (`process.terminal`), on the real kernel with
 * the real CRIU, as runc does it: the dump leaves the pty's master (held by the console socket's
 * owner) out, the restore makes a new master for the restored slave and sends it to
 * `--console-socket`. The counter goes on, the new console carries its output and takes input;
 * in the foreground the restore proxies the console to its own terminal, as runc's; runc restores pier-runtime's terminal checkpoint and pier-runtime runc's; what cannot work is
 * refused before anything is touched.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ptyDialogue } from "../../testing/pty-dialogue.js";
import {
  pierRuntimeCommand,
  requireTool,
  runtimeCmd,
  scriptSpec,
  writeBundle,
} from "../../testing/runtime.js";
import {
  checkpointTestSkip,
  rootfsCount as count,
  criuFirstInPath,
  assertSucceeded as ok,
  runWithPipes,
} from "../../testing/runtime-criu.js";

const skip = await checkpointTestSkip("terminal_checkpoint_test");

// Counts on the terminal (and in /count, renamed into place so a dump never sees it empty) in
// the background; the foreground echoes what is typed, so the console's input is checked too,
// and exits 7 at "quit".
const COUNTER =
  "(i=0; while true; do i=$((i+1)); echo tick $i; echo $i > /count.new; mv /count.new /count; sleep 0.05; done) & " +
  'while read l; do [ "$l" = quit ] && exit 7; echo got $l; done';

/**
 * The owner of a console socket, as conmon is: a python3 agent (Node cannot receive fds) that
 * takes the pty master, copies its output to `output` and what `type` is given to the pty.
 */
class ConsoleHolder {
  output = "";
  private readonly child: ChildProcess;
  readonly ready: Promise<void>;

  constructor(socketPath: string) {
    const py = `
import socket, sys, os, select
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
msg, fds, flags, addr = socket.recv_fds(c, 1024, 1)
fd = fds[0]
os.write(1, ("name=" + msg.decode() + "\\n").encode())
inp = 0
while True:
    r, _, _ = select.select([fd] + ([inp] if inp >= 0 else []), [], [])
    if fd in r:
        try:
            b = os.read(fd, 4096)
        except OSError:
            break
        if not b:
            break
        os.write(1, b)
    if inp >= 0 and inp in r:
        b = os.read(inp, 4096)
        if not b:
            inp = -1
        else:
            os.write(fd, b)
`;
    this.child = spawn(requireTool("python3", "python3"), ["-c", py, socketPath], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.ready = new Promise((resolve) => {
      this.child.stdout?.on("data", (d: Buffer) => {
        this.output += d.toString();
        if (this.output.startsWith("ready\n")) resolve();
      });
    });
  }

  /** Types `text` on the terminal. */
  type(text: string): void {
    this.child.stdin?.write(text);
  }

  /** Waits (20 s at most) until the output matches `re`; returns the match. */
  async waitFor(re: RegExp): Promise<RegExpMatchArray> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const m = this.output.match(re);
      if (m) return m;
      if (Date.now() > deadline)
        throw new Error(`no ${re} on the console; it printed: ${this.output.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The highest count printed so far. */
  lastTick(): number {
    const ticks = [...this.output.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
    return ticks.length ? Math.max(...ticks) : 0;
  }

  stop(): void {
    this.child.kill("SIGKILL");
  }
}

/**
 * Pids of the live processes in a cgroup whose path names `id` (the container's processes);
 * zombies, dead and waiting for init to reap them, are not counted.
 */
function processesOf(id: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      if (!readFileSync(`/proc/${p}/cgroup`, "utf8").includes(id)) continue;
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${p}/status`, "utf8"))) continue;
      pids.push(Number(p));
    } catch {}
  }
  return pids;
}

describe("pier-runtime checkpoint/restore of a terminal container", { skip }, () => {
  let dir = "";
  let bundle = "";
  const holders: ConsoleHolder[] = [];
  const root = () => join(dir, "state");
  const id = `criu-tty-${process.pid}`;
  const pr = (args: string[]) => runtimeCmd("pier", ["--root", root(), ...args], { timeout: 60000 });
  const runc = (args: string[]) =>
    spawnSync("runc", ["--root", join(dir, "runc-state"), ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PATH: criuFirstInPath() },
      timeout: 60000,
    });
  let n = 0;
  const holder = async (): Promise<[ConsoleHolder, string]> => {
    const sock = join(dir, `console-${n++}.sock`);
    const h = new ConsoleHolder(sock);
    holders.push(h);
    await h.ready;
    return [h, sock];
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pier-criu-tty-"));
    bundle = await writeBundle(
      join(dir, "bundle"),
      scriptSpec(COUNTER, (s) => {
        if (s.root) s.root.readonly = false;
        if (s.process) s.process.terminal = true;
      }),
    );
  });
  after(async () => {
    pr(["delete", "--force", id]);
    runc(["delete", "--force", id]);
    for (const h of holders) h.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("a counting terminal container counts on after restore, its new console carrying output and input", async () => {
    const [first, sock1] = await holder();
    ok(pr(["run", "-d", "--console-socket", sock1, "--bundle", bundle, id]), "run");
    await first.waitFor(/tick 5\b/);
    first.type("before\n");
    await first.waitFor(/got before/);
    const images = join(dir, "images");
    ok(pr(["checkpoint", "--image-path", images, id]), "checkpoint");
    assert.notEqual(pr(["state", id]).status, 0, "the checkpointed container is deleted, as under runc");
    const frozen = await count(join(bundle, "rootfs"));

    const [second, sock2] = await holder();
    ok(
      pr(["restore", "-d", "--console-socket", sock2, "--image-path", images, "--bundle", bundle, id]),
      "restore",
    );
    const st = JSON.parse(pr(["state", id]).stdout) as { status: string };
    assert.equal(st.status, "running");
    // the restored slave keeps its index in the container's own devpts
    await second.waitFor(/^ready\nname=\/dev\/pts\/\d+\n/);
    await second.waitFor(new RegExp(`tick ${frozen + 3}\\b`));
    const firstRestored = Number(second.output.match(/tick (\d+)/)?.[1]);
    assert.ok(
      firstRestored > frozen - 2 && firstRestored <= frozen + 2,
      `the restored count goes on from ${frozen}: ${firstRestored}`,
    );
    second.type("after\n");
    await second.waitFor(/got after/);
    ok(pr(["kill", id, "KILL"]), "kill");
    const deadline = Date.now() + 10_000;
    while ((JSON.parse(pr(["state", id]).stdout) as { status: string }).status !== "stopped") {
      assert.ok(Date.now() < deadline, "the container stops");
      await new Promise((r) => setTimeout(r, 50));
    }
    ok(pr(["delete", id]), "delete");
  });

  it("restore without --detach proxies the restored console to its own terminal and exits with the container's status", async () => {
    const [h, sock] = await holder();
    ok(pr(["run", "-d", "--console-socket", sock, "--bundle", bundle, id]), "run");
    await h.waitFor(/tick 3\b/);
    const images = join(dir, "images-fg");
    ok(pr(["checkpoint", "--image-path", images, id]), "checkpoint");
    const frozen = await count(join(bundle, "rootfs"));
    const [cmd, argv] = pierRuntimeCommand([
      "--root",
      root(),
      "restore",
      "--image-path",
      images,
      "--bundle",
      bundle,
      id,
    ]);
    const r = await ptyDialogue(
      [cmd, ...argv],
      [
        [`tick ${frozen + 2}`, "hello\r"],
        ["got hello", "quit\r"],
      ],
      { seconds: 60 },
    );
    assert.equal(r.status, 7, r.stdout);
    assert.match(r.stdout, /got hello/);
    assert.equal((JSON.parse(pr(["state", id]).stdout) as { status: string }).status, "stopped");
    ok(pr(["delete", id]), "delete");
  });

  it("runc restores pier-runtime's terminal checkpoint, and pier-runtime runc's", async () => {
    const [a, sockA] = await holder();
    ok(pr(["run", "-d", "--console-socket", sockA, "--bundle", bundle, id]), "pier run");
    await a.waitFor(/tick 3\b/);
    const fromPier = join(dir, "images-pier");
    ok(pr(["checkpoint", "--image-path", fromPier, id]), "pier checkpoint");
    const c1 = await count(join(bundle, "rootfs"));
    const [b, sockB] = await holder();
    const rr = runc([
      "restore",
      "-d",
      "--console-socket",
      sockB,
      "--image-path",
      fromPier,
      "--bundle",
      bundle,
      id,
    ]);
    ok(rr, "runc restore");
    await b.waitFor(new RegExp(`tick ${c1 + 3}\\b`));
    b.type("runc\n");
    await b.waitFor(/got runc/);
    const fromRunc = join(dir, "images-runc");
    ok(runc(["checkpoint", "--image-path", fromRunc, id]), "runc checkpoint");
    const c2 = await count(join(bundle, "rootfs"));
    const [c, sockC] = await holder();
    ok(
      pr(["restore", "-d", "--console-socket", sockC, "--image-path", fromRunc, "--bundle", bundle, id]),
      "pier restore",
    );
    await c.waitFor(new RegExp(`tick ${c2 + 3}\\b`));
    c.type("pier\n");
    await c.waitFor(/got pier/);
    ok(pr(["delete", "--force", id]), "delete");
  });

  it("refuses a terminal without a console socket, a console socket without a terminal, a dead socket, and images and config that disagree, leaving nothing", async () => {
    const [h, sock] = await holder();
    ok(pr(["run", "-d", "--console-socket", sock, "--bundle", bundle, id]), "run");
    await h.waitFor(/tick 2\b/);
    const images = join(dir, "images-refused");
    ok(pr(["checkpoint", "--image-path", images, id]), "checkpoint");
    const none = pr(["restore", "-d", "--image-path", images, "--bundle", bundle, id]);
    assert.notEqual(none.status, 0);
    assert.match(none.stderr, /cannot allocate tty if runc will detach without setting console socket/);
    const dead = pr([
      "restore",
      "-d",
      "--console-socket",
      join(dir, "nobody.sock"),
      "--image-path",
      images,
      "--bundle",
      bundle,
      id,
    ]);
    assert.notEqual(dead.status, 0);
    assert.match(dead.stderr, /console socket .*nobody\.sock/);
    assert.notEqual(pr(["state", id]).status, 0, "no container stays");
    // counts without reading stdin (an empty pipe there: a read loop would end at once)
    const plain = await writeBundle(
      join(dir, "plain"),
      scriptSpec(
        "i=0; while true; do i=$((i+1)); echo $i > /count.new; mv /count.new /count; sleep 0.05; done",
        (s) => {
          if (s.root) s.root.readonly = false;
        },
      ),
      join(bundle, "rootfs"),
    );
    const [, sock2] = await holder();
    const notty = pr([
      "restore",
      "-d",
      "--console-socket",
      sock2,
      "--image-path",
      images,
      "--bundle",
      plain,
      id,
    ]);
    assert.notEqual(notty.status, 0);
    assert.match(notty.stderr, /cannot use console socket if runc will not detach or allocate tty/);
    // The images and the config disagree: CRIU finds the terminal (or none) only while restoring;
    // the restore fails before the tasks run again and none of them stays.
    const mismatch = runWithPipes(
      ["--root", root(), "restore", "-d", "--image-path", images, "--bundle", plain, id],
      join(dir, "out-mismatch"),
    );
    assert.notEqual(mismatch.status, 0);
    assert.match(mismatch.stderr, /have a terminal but config\.json's process\.terminal is false/);
    assert.notEqual(pr(["state", id]).status, 0, "no container stays");
    assert.deepEqual(processesOf(id), [], "no restored process stays");
    const plainId = `${id}-plain`;
    ok(
      runWithPipes(["--root", root(), "run", "-d", "--bundle", plain, plainId], join(dir, "out-plain")),
      "run",
    );
    await count(join(bundle, "rootfs"));
    const plainImages = join(dir, "images-plain");
    ok(pr(["checkpoint", "--image-path", plainImages, plainId]), "checkpoint without a terminal");
    const [, sock4] = await holder();
    const noTerminal = runWithPipes(
      [
        "--root",
        root(),
        "restore",
        "-d",
        "--console-socket",
        sock4,
        "--image-path",
        plainImages,
        "--bundle",
        bundle,
        plainId,
      ],
      join(dir, "out-no-terminal"),
    );
    assert.notEqual(noTerminal.status, 0);
    assert.match(noTerminal.stderr, /the checkpoint has no terminal to restore/);
    assert.notEqual(pr(["state", plainId]).status, 0, "no container stays");
    assert.deepEqual(processesOf(plainId), [], "no restored process stays");
    // the images are untouched by the refusals: a proper restore still works
    const [good, sock3] = await holder();
    ok(
      pr(["restore", "-d", "--console-socket", sock3, "--image-path", images, "--bundle", bundle, id]),
      "restore",
    );
    await good.waitFor(/tick \d+/);
    ok(pr(["delete", "--force", id]), "delete");
  });
});
