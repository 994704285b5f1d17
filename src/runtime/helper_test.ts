import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { launchHelper } from "./helper.js";

/** A full collection (the test runner does not expose `gc`). */
function collect(): void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  setFlagsFromString("--no-expose-gc");
  gc();
}

test("launchHelper: the sync socket, which outlives the session, keeps none of the session's options", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "pier-helper-"));
  const sleeper = spawn("sleep", ["60"], { stdio: "ignore" });
  t.after(() => {
    sleeper.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, "sync.sock");
  // The helper's end: reads the plan, asks one sync point, then reports ready (as pier-init does).
  const server = createServer((peer) => {
    let answered = false;
    peer.on("data", (b) => {
      if (!answered && b.includes("ok\n")) {
        answered = true;
        peer.write("notify ready\n");
      }
    });
    peer.write(`pid ${sleeper.pid}\nsync create\n`);
  });
  await new Promise<void>((r) => server.listen(path, r));
  t.after(() => server.close());

  // Held on to as a monitor's ChildProcess holds its stdio for the container's whole life.
  let held: Socket | undefined;
  const session = async (): Promise<WeakRef<object>> => {
    // Stands for the container's spec and plan that the session's callbacks reach.
    const spec = { big: "x".repeat(1 << 20) };
    const session = await launchHelper({
      ops: [],
      until: { notify: "ready" },
      onSync: async () => (spec.big.length > 0 ? undefined : "never"),
      launch: () => {
        held = createConnection(path);
        return { sync: held, exited: new Promise<number>(() => {}) };
      },
    });
    assert.equal(session.pid, sleeper.pid);
    return new WeakRef(spec);
  };
  const spec = await session();
  // Let the destroyed socket's close run, as it does long before a container exits.
  await new Promise((r) => setTimeout(r, 50));
  collect();
  assert.ok(held, "the launcher ran");
  assert.equal(spec.deref(), undefined, "the session's state is still reachable from its sync socket");
});
