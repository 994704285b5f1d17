/**
 * --tcp-established: an echo server in a container joined to a network namespace the test made
 * (by path: CRIU gets it as the external `extRootNetNS`), a client in that namespace keeps its
 * connection across checkpoint and restore. It needs a CRIU that dumps inet sockets on this kernel
 * (4.2 or later on Linux >= 6.16, checkpoint-restore/criu#2718): with an older one it skips naming
 * that, found by version before anything runs.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { runtimeCmd, scriptSpec, writeBundle } from "../../testing/runtime.js";
import { checkpointTestSkip, criuInetSkipReason, runWithPipes } from "../../testing/runtime-criu.js";

const skip = await checkpointTestSkip("tcp_checkpoint_test", criuInetSkipReason);

// Connects once the server listens (retrying, up to 20 s), then never again: an echo after the
// restore can only come over the connection made before the checkpoint.
const CLIENT = `
import socket, sys, time
deadline = time.monotonic() + 20
while True:
    try:
        s = socket.create_connection(("127.0.0.1", 7777))
        break
    except ConnectionRefusedError:
        if time.monotonic() > deadline: raise
        time.sleep(0.05)
s.settimeout(20)
print("connected", flush=True)
for line in sys.stdin:
    s.sendall(line.encode())
    print("echo:" + s.recv(100).decode().strip(), flush=True)
`;

describe("checkpoint --tcp-established", { skip }, () => {
  const netns = `pier-criu-${process.pid}`;
  const id = `criu-tcp-${process.pid}`;
  let dir = "";
  let bundle = "";
  const root = () => join(dir, "state");
  const pr = (args: string[]) => runtimeCmd("pier", ["--root", root(), ...args], { timeout: 60000 });
  const detached = (args: string[], out: string) => runWithPipes(["--root", root(), ...args], out);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pier-criu-tcp-"));
    spawnSync("ip", ["netns", "add", netns]);
    assert.equal(spawnSync("ip", ["-n", netns, "link", "set", "lo", "up"]).status, 0, "netns lo up");
    bundle = await writeBundle(
      join(dir, "bundle"),
      scriptSpec("exec nc -l -p 7777 -e cat", (s) => {
        s.linux = s.linux ?? {};
        s.linux.namespaces = (s.linux.namespaces ?? []).map((n) =>
          n.type === "network" ? { type: "network", path: `/run/netns/${netns}` } : n,
        );
      }),
    );
  });
  after(async () => {
    pr(["delete", "--force", id]);
    spawnSync("ip", ["netns", "del", netns]);
    await rm(dir, { recursive: true, force: true });
  });

  it("a client's established connection to a restored echo server goes on", async () => {
    const run = detached(["run", "-d", "--bundle", bundle, id], join(dir, "out-run"));
    assert.equal(run.status, 0, run.stderr);
    const client = spawn("ip", ["netns", "exec", netns, "python3", "-c", CLIENT], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const lines = createInterface({ input: client.stdout });
    const next = () => new Promise<string>((r) => lines.once("line", r));
    try {
      assert.equal(await next(), "connected");
      client.stdin.write("one\n");
      assert.equal(await next(), "echo:one");
      const images = join(dir, "images");
      const ck = pr(["checkpoint", "--tcp-established", "--image-path", images, id]);
      assert.equal(ck.status, 0, ck.stderr);
      const rs = detached(
        ["restore", "-d", "--tcp-established", "--image-path", images, "--bundle", bundle, id],
        join(dir, "out-restore"),
      );
      assert.equal(rs.status, 0, rs.stderr);
      client.stdin.write("two\n");
      assert.equal(await next(), "echo:two");
    } finally {
      client.kill();
    }
  });
});
