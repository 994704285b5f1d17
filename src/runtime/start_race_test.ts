/**
 * Stress: 200 create + start + delete cycles of a busybox `true` container, two at a time, through
 * the native front end and the runtime service (issue 13: `start` once answered "cannot start a
 * container that has stopped" for a container `create` had just made). Every step must succeed.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { pierRuntimeCommand, runtimeCmd, scriptSpec, writeBundle } from "../testing/runtime.js";

let tmp = "";
let dir = "";
let stateRoot = "";

before(async () => {
  tmp = await makeTempDir("pier-rt-race-");
  chmodSync(tmp, 0o755);
  stateRoot = join(tmp, "state");
  const rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
  dir = await writeBundle(
    join(tmp, "bundle"),
    scriptSpec("true", (s) => {
      if (s.process) s.process.args = ["/bin/true"];
    }),
    rootfs,
  );
});

after(async () => {
  for (const id of runtimeCmd("pier", ["--root", stateRoot, "list", "-q"]).stdout.split("\n").filter(Boolean))
    runtimeCmd("pier", ["--root", stateRoot, "delete", "--force", id]);
  await removeTempDir(tmp);
});

/**
 * One `pier-runtime` command, asynchronously; a created container gets no stdio to hold, so
 * create's errors are read from its `--log` file (as a shim reads runc's).
 */
async function pier(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const log = args[0] === "create" ? join(tmp, `create-${args.at(-1)}.log`) : undefined;
  const r = await runPier([...(log ? ["--log", log, "--log-format", "json"] : []), ...args]);
  if (log && r.status !== 0) r.stderr = existsSync(log) ? readFileSync(log, "utf8") : "(no log written)";
  if (log) rmSync(log, { force: true });
  return r;
}

function runPier(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const [cmd, full] = pierRuntimeCommand(["--root", stateRoot, ...args]);
  return new Promise((resolve) => {
    const child = spawn(cmd, full, {
      stdio: ["ignore", "ignore", args.includes("create") ? "ignore" : "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30000);
    child.on("exit", (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

const CYCLES = 200;

test(`${CYCLES} create + start + delete cycles, two in parallel, all succeed`, async () => {
  const failures: string[] = [];
  const worker = async (w: number) => {
    for (let i = 0; i < CYCLES / 2; i++) {
      const id = `race-${process.pid}-${w}-${i}`;
      for (const args of [
        ["create", "--bundle", dir, id],
        ["start", id],
        ["delete", "--force", id],
      ]) {
        const r = await pier(args);
        if (r.status !== 0) {
          failures.push(`${args[0]} ${id}: status ${r.status}: ${r.stderr.trim()}`);
          await pier(["delete", "--force", id]);
          break;
        }
      }
    }
  };
  await Promise.all([worker(0), worker(1)]);
  assert.deepEqual(failures, []);
});

test("poststart hooks get the running state with the container's pid, though /bin/true already exited", async () => {
  const out = join(tmp, "poststart.json");
  const hooked = await writeBundle(
    join(tmp, "hooked"),
    scriptSpec("true", (s) => {
      if (s.process) s.process.args = ["/bin/true"];
      s.hooks = { poststart: [{ path: "/bin/sh", args: ["sh", "-c", `cat > ${out}`] }] };
    }),
    join(tmp, "rootfs"),
  );
  // Ten times: whether /bin/true is gone when start builds the state is up to the scheduler.
  for (let i = 0; i < 10; i++) {
    const id = `race-hook-${process.pid}-${i}`;
    assert.equal((await pier(["create", "--bundle", hooked, id])).status, 0);
    const state = JSON.parse(runtimeCmd("pier", ["--root", stateRoot, "state", id]).stdout) as {
      pid: number;
    };
    assert.equal((await pier(["start", id])).status, 0);
    const seen = JSON.parse(readFileSync(out, "utf8")) as { status: string; pid: number };
    assert.equal(seen.status, "running");
    assert.equal(seen.pid, state.pid);
    assert.equal((await pier(["delete", "--force", id])).status, 0);
  }
});

test("start waits for the process's byte without polling, and fails promptly when the process dies first", async () => {
  const id = `race-dies-${process.pid}`;
  assert.equal((await pier(["create", "--bundle", dir, id])).status, 0);
  const { pid } = JSON.parse(runtimeCmd("pier", ["--root", stateRoot, "state", id]).stdout) as {
    pid: number;
  };
  // Stopped, it can neither open its end of the exec fifo nor write its byte: start waits.
  process.kill(pid, "SIGSTOP");
  let settled = false;
  const start = pier(["start", id]).finally(() => {
    settled = true;
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(settled, false, "start waits for the byte");
  process.kill(pid, "SIGKILL");
  const t0 = Date.now();
  const r = await start;
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot start a container that has stopped/);
  assert.ok(Date.now() - t0 < 10000, "the death is noticed (no wait without end)");
  assert.equal((await pier(["delete", "--force", id])).status, 0);
});
