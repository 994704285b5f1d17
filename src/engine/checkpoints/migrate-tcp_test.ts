/**
 * Live migration of a TCP connection (`pier migrate --tcp-established`) between two pierd as two
 * hosts: each in its own network namespace with the same container subnet, each joined by a
 * routed link to a third namespace, the client's network. A client there holds a connection to
 * an echo server in a container on the first host; the container migrates to the second with its
 * address, the client's route to that address is moved to the second host (as the network of two
 * hosts moves a floating address), and the same connection echoes on — while the first host
 * sends the client nothing when its copy is removed. Needs a CRIU that dumps inet sockets on this
 * kernel (4.2 or later on Linux >= 6.16): with an older one it skips naming that.
 */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../../testing/busybox.js";
import {
  docker,
  dockerEnv,
  pier,
  requireDocker,
  runCommand,
  startTestDaemon,
  type TestDaemon,
} from "../../testing/engine.js";
import { checkpointTestSkip, criuInetSkipReason } from "../../testing/runtime-criu.js";

const skip = await checkpointTestSkip("migrate-tcp_test", criuInetSkipReason);

const IMAGE = "pier-test/busybox-echo:1";
const SUBNET = "10.77.0.0/16";
const PORT = 7777;

/**
 * The client: connects once (retrying while the server is not yet listening), then never again;
 * for each line of stdin, sends it and prints what came back, or why the connection ended.
 */
const CLIENT = `
import socket, sys, time
deadline = time.monotonic() + 30
while True:
    try:
        s = socket.create_connection((sys.argv[1], ${PORT}), timeout=5)
        break
    except OSError:
        if time.monotonic() > deadline: raise
        time.sleep(0.1)
s.settimeout(60)
print("connected", flush=True)
for line in sys.stdin:
    try:
        s.sendall(line.encode())
        got = s.recv(100).decode().strip()
        print("echo:" + got if got else "closed by the server", flush=True)
    except OSError as e:
        print("error: " + str(e), flush=True)
`;

function ip(args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  assert.equal(r.status, 0, `ip ${args.join(" ")}: ${r.stderr}`);
}

describe("migration of an established TCP connection between two hosts", { skip }, () => {
  // Three network namespaces: two hosts and the client's network between them.
  const tag = `${process.pid % 100000}`;
  const hostA = `pmig-a-${tag}`;
  const hostB = `pmig-b-${tag}`;
  const net = `pmig-c-${tag}`;
  let a: TestDaemon;
  let b: TestDaemon;
  let dir = "";
  let client: ChildProcessWithoutNullStreams | undefined;

  before(async () => {
    requireDocker();
    for (const ns of [hostA, hostB, net]) {
      ip(["netns", "add", ns]);
      ip(["-n", ns, "link", "set", "lo", "up"]);
    }
    // host A: 172.31.1.2, host B: 172.31.2.2; the client's network routes between them.
    for (const [ns, n] of [
      [hostA, 1],
      [hostB, 2],
    ] as const) {
      ip(["-n", ns, "link", "add", "uplink", "type", "veth", "peer", "name", `host${n}`, "netns", net]);
      ip(["-n", ns, "addr", "add", `172.31.${n}.2/24`, "dev", "uplink"]);
      ip(["-n", ns, "link", "set", "uplink", "up"]);
      ip(["-n", ns, "route", "add", "default", "via", `172.31.${n}.1`]);
      ip(["-n", net, "addr", "add", `172.31.${n}.1/24`, "dev", `host${n}`]);
      ip(["-n", net, "link", "set", `host${n}`, "up"]);
      spawnSync("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    }
    // The containers' subnet lives on host A to begin with.
    ip(["-n", net, "route", "add", SUBNET, "via", "172.31.1.2"]);
    [a, b] = [
      await startTestDaemon(["--default-subnet", SUBNET], { netns: hostA }),
      await startTestDaemon(["--default-subnet", SUBNET], { netns: hostB }),
    ];
    // The image, imported on both hosts (their namespaces cannot reach a registry of this one).
    dir = await makeTempDir("pier-migrate-tcp-");
    const rootfs = await writeBusyboxRootfs(join(dir, "rootfs"));
    for (const d of [a, b]) {
      const r = await runCommand(
        "bash",
        ["-c", `tar -C "$1" -c . | docker import - ${IMAGE}`, "bash", rootfs],
        { env: dockerEnv(d) },
      );
      assert.equal(r.status, 0, r.stderr);
    }
  });

  after(async () => {
    client?.kill();
    for (const d of [a, b]) await d?.stop();
    for (const ns of [hostA, hostB, net]) spawnSync("ip", ["netns", "del", ns]);
    if (dir) await removeTempDir(dir);
  });

  const ok = async (d: TestDaemon, args: string[]) => {
    const r = await docker(d, args);
    assert.equal(r.status, 0, `docker ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };

  it("a client's connection to a migrated echo server goes on, the server's address kept", async () => {
    await ok(a, ["run", "-d", "--name", "echo", IMAGE, "nc", "-ll", "-p", `${PORT}`, "-e", "cat"]);
    const address = await ok(a, ["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "echo"]);
    assert.match(address, /^10\.77\.\d+\.\d+$/);
    client = spawn("ip", ["netns", "exec", net, "python3", "-c", CLIENT, address], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let clientErr = "";
    client.stderr.on("data", (c: Buffer) => {
      clientErr += c.toString();
    });
    const lines: Interface = createInterface({ input: client.stdout });
    const next = () =>
      new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no answer from the client: ${clientErr}`)), 90_000);
        lines.once("line", (l) => {
          clearTimeout(t);
          resolve(l);
        });
      });
    const say = async (line: string) => {
      client?.stdin.write(`${line}\n`);
      return next();
    };
    assert.equal(await next(), "connected", clientErr);
    assert.equal(await say("before"), "echo:before");
    // A migration failing after the dump (an unreachable target): the source's network is let go
    // again with it, and the connection goes on there.
    const failed = await pier(a, ["migrate", "echo", "--to", "/nonexistent.sock", "--tcp-established"]);
    assert.equal(failed.status, 1, failed.stdout);
    assert.match(failed.stderr, /migration target: connect ENOENT/);
    assert.equal(
      await ok(a, ["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "echo"]),
      "running false",
    );
    assert.equal(await say("still"), "echo:still");

    const r = await pier(a, ["migrate", "echo", "--to", b.socket, "--tcp-established"], { timeout: 180_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`^echo migrated to \\S+ as [0-9a-f]{12} \\(${address.replaceAll(".", "\\.")}/16\\)`),
    );
    assert.equal((await docker(a, ["inspect", "echo"])).status, 1, "the source is gone");
    assert.equal(await ok(b, ["inspect", "-f", "{{.State.Status}}", "echo"]), "running");
    // The network moves the address to host B.
    ip(["-n", net, "route", "replace", SUBNET, "via", "172.31.2.2"]);
    assert.equal(await say("after"), "echo:after");
    assert.equal(await say("again"), "echo:again");
    // A new connection reaches the server on host B too (it still listens).
    const probe = spawnSync("ip", ["netns", "exec", net, "python3", "-c", CLIENT, address], {
      input: "new\n",
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(probe.stdout, "connected\necho:new\n", probe.stderr);
    client.stdin.end();
    const exempt = () =>
      spawnSync("ip", ["netns", "exec", hostB, "iptables", "-t", "nat", "-S", "POSTROUTING"], {
        encoding: "utf8",
      }).stdout;
    assert.match(
      exempt(),
      new RegExp(`-s ${address.replaceAll(".", "\\.")}/32 -p tcp .*pier restored connections`),
    );
    await ok(b, ["rm", "-f", "echo"]);
    assert.doesNotMatch(exempt(), /pier restored connections/, "its rule goes with the container");
  });
});
