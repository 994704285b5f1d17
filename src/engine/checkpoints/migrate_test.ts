/**
 * Live migration between two pierd instances on this machine (different roots, exec roots and
 * bridges): a counting container moves from one to the other with `POST /containers/{id}/migrate`
 * and counts on there under the same name, the source gone — over its socket, and over
 * `tcp://` with the remote API's TLS client certificates; a migration to a pierd that lacks
 * the image, or with certificates its CA did not sign, fails and leaves the source running and
 * counting; a bad target is refused before anything is frozen. Through a registry: the
 * checkpoint image is pushed, the source stopped, and the other pierd restores it. A container
 * with a terminal moves too.
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { api, COUNTER, counted, countsOnFrom, until } from "../../testing/checkpoints.js";
import {
  type BusyboxRegistry,
  busyboxRegistry,
  docker,
  pier,
  requireDocker,
  startTestDaemon,
  type TestDaemon,
} from "../../testing/engine.js";
import { checkpointTestSkip } from "../../testing/runtime-criu.js";
import { writeDockerTlsCerts, writeSelfSignedKeyPair } from "../../testing/tls-cert.js";
import { parseMigrationTarget } from "./migrate.js";

const skip = await checkpointTestSkip("migrate_test");

describe("parseMigrationTarget", () => {
  it("takes a socket path, unix:// and tcp://HOST:PORT, and refuses anything else", () => {
    assert.deepEqual(parseMigrationTarget("/run/b/pier.sock"), {
      kind: "unix",
      socketPath: "/run/b/pier.sock",
    });
    assert.deepEqual(parseMigrationTarget("unix:///run/b.sock"), { kind: "unix", socketPath: "/run/b.sock" });
    assert.deepEqual(parseMigrationTarget("tcp://10.0.0.2:2377"), {
      kind: "tcp",
      host: "10.0.0.2",
      port: 2377,
    });
    assert.throws(() => parseMigrationTarget("tcp://10.0.0.2"), /tcp:\/\/HOST:PORT/);
    // An IPv6 target's host is dialled without its brackets.
    assert.deepEqual(parseMigrationTarget("tcp://[fd00::2]:2377"), {
      kind: "tcp",
      host: "fd00::2",
      port: 2377,
    });
    // Bad addresses: refused as INVALID_ARGUMENT naming the problem (not a TypeError, not
    // taken with a part dropped).
    for (const [bad, why] of [
      ["tcp://10.0.0.2:99999", /port "99999" is not a number from 1 to 65535/],
      ["tcp://10.0.0.2:0", /port "0" is not a number from 1 to 65535/],
      ["tcp://fd00::2:2377", /an IPv6 host goes in brackets: \[fd00::2\]:2377/],
      ["tcp://[fd00::2]", /no port/],
      ["tcp://10.0.0.2:2377/x", /only a host and a port/],
      ["tcp://user@10.0.0.2:2377", /only a host and a port/],
    ] as const)
      assert.throws(
        () => parseMigrationTarget(bad),
        (e: Error & { code?: string }) =>
          e.code === "INVALID_ARGUMENT" &&
          e.message.startsWith(`invalid migration target ${JSON.stringify(bad)}: `) &&
          why.test(e.message),
        bad,
      );
    assert.throws(() => parseMigrationTarget("ssh://x"), /invalid migration target/);
    assert.throws(() => parseMigrationTarget("pier.sock"), /invalid migration target/);
    assert.deepEqual(parseMigrationTarget("registry.example:5000/app:web-ckpt"), {
      kind: "registry",
      ref: "registry.example:5000/app:web-ckpt",
    });
    assert.deepEqual(parseMigrationTarget("docker://quay.io/a/b"), {
      kind: "registry",
      ref: "quay.io/a/b:latest",
    });
    assert.throws(
      () => parseMigrationTarget(`quay.io/a/b@sha256:${"0".repeat(64)}`),
      /a registry reference with a tag/,
    );
  });
});

describe("migration between two pierd", { skip }, () => {
  let reg: BusyboxRegistry;
  let a: TestDaemon;
  let b: TestDaemon;
  let bare: TestDaemon;
  let certs: { server: string; client: string };
  let certDir = "";
  let tlsAddress = "";
  before(async () => {
    requireDocker();
    reg = await busyboxRegistry();
    certDir = await makeTempDir("pier-migrate-tls-");
    certs = await writeDockerTlsCerts(certDir);
    // b also listens on TCP with TLS and client certificates, as a remote host would.
    const tls = [
      "--tls-listen",
      "127.0.0.1:0",
      "--tlscacert",
      join(certDir, "ca.pem"),
      "--tlscert",
      join(certs.server, "cert.pem"),
      "--tlskey",
      join(certs.server, "key.pem"),
    ];
    [a, b, bare] = [await startTestDaemon(), await startTestDaemon(tls), await startTestDaemon()];
    tlsAddress = /"tlsListen":"([^"]+)"/.exec(b.stderr())?.[1] ?? "";
    assert.ok(tlsAddress, b.stderr());
    for (const d of [a, b]) {
      const r = await docker(d, ["pull", reg.image]);
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(async () => {
    for (const d of [a, b, bare]) await d?.stop();
    await reg?.stop();
    if (certDir) await removeTempDir(certDir);
  });
  const ok = async (d: TestDaemon, args: string[]) => {
    const r = await docker(d, args);
    assert.equal(r.status, 0, `docker ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };

  it("moves a counting container to the other pierd, where it counts on", async () => {
    await ok(a, ["run", "-d", "--name", "mover", reg.image, "sh", "-c", COUNTER]);
    await until(async () => counted(await ok(a, ["logs", "mover"])) >= 5, "the count to reach 5");
    // Frozen first, so that the count at the hand-over is known (migrate takes a paused one).
    await ok(a, ["pause", "mover"]);
    const at = counted(await ok(a, ["logs", "mover"]));
    // Through the pier CLI, as the README shows it.
    const r = await pier(a, ["migrate", "mover", "--to", b.socket]);
    assert.equal(r.status, 0, r.stderr);
    const line =
      /^mover migrated to \S+ as [0-9a-f]{12} \(\d+\.\d+\.\d+\.\d+\/\d+\): downtime (\d+) ms \(freeze (\d+), dump (\d+), send (\d+), target (\d+)\), \d+ bytes\n$/.exec(
        r.stdout,
      );
    assert.ok(line, r.stdout);
    // The phases are the downtime's (each rounded on its own).
    const [downtime, ...phases] = line.slice(1).map(Number);
    const sum = phases.reduce((x, y) => x + y, 0);
    assert.ok(Math.abs(sum - downtime!) <= 4, `phases ${phases.join("+")} = ${sum}, downtime ${downtime}`);
    assert.ok(phases[1]! > 0 && phases[3]! > 0, `a dump and a restore take time: ${r.stdout}`);
    // The source is gone; the target runs it under the same name and counts on.
    assert.equal((await docker(a, ["inspect", "mover"])).status, 1);
    assert.equal((await ok(b, ["inspect", "-f", "{{.State.Status}}", "mover"])).trim(), "running");
    // The target's log starts at the migration, its numbers going on from the source's.
    await until(async () => countsOnFrom(await ok(b, ["logs", "mover"]), at) >= 3, "the target's count");
    await ok(b, ["rm", "-f", "mover"]);
  });

  it("moves a terminal (-t) container: the target's monitor gets its console and logs it", async () => {
    await ok(a, ["run", "-dt", "--name", "ttymover", reg.image, "sh", "-c", COUNTER]);
    await until(async () => counted(await ok(a, ["logs", "ttymover"])) >= 5, "the count to reach 5");
    await ok(a, ["pause", "ttymover"]);
    const at = counted(await ok(a, ["logs", "ttymover"]));
    const r = await pier(a, ["migrate", "ttymover", "--to", b.socket]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await ok(b, ["inspect", "-f", "{{.Config.Tty}}", "ttymover"])).trim(), "true");
    await until(async () => countsOnFrom(await ok(b, ["logs", "ttymover"]), at) >= 3, "the target's count");
    await ok(b, ["rm", "-f", "ttymover"]);
  });

  it("a target without the image refuses; the source goes on running and counting", async () => {
    await ok(a, ["run", "-d", "--name", "stayer", reg.image, "sh", "-c", COUNTER]);
    await until(async () => counted(await ok(a, ["logs", "stayer"])) >= 3, "the count to reach 3");
    const r = await api(
      a.socket,
      "POST",
      "/v1/containers/stayer/migrate",
      JSON.stringify({ to: bare.socket }),
    );
    assert.equal(r.status, 500, r.body.toString());
    assert.match(
      r.body.toString(),
      /the migration target refused the container: the checkpoint's image .* is not on this host/,
    );
    assert.equal(
      (await ok(a, ["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "stayer"])).trim(),
      "running false",
    );
    const at = counted(await ok(a, ["logs", "stayer"]));
    await until(async () => counted(await ok(a, ["logs", "stayer"])) > at + 3, "the source to count on");
    assert.equal((await docker(bare, ["inspect", "stayer"])).status, 1, "nothing stays on the target");
    // An unreachable target: refused, the source untouched.
    const gone = await api(
      a.socket,
      "POST",
      "/v1/containers/stayer/migrate",
      JSON.stringify({ to: "/nonexistent.sock" }),
    );
    assert.equal(gone.status, 500, gone.body.toString());
    assert.match(gone.body.toString(), /migration target: connect ENOENT/);
    assert.equal(
      (await ok(a, ["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "stayer"])).trim(),
      "running false",
    );
    await ok(a, ["rm", "-f", "stayer"]);
  });

  it("moves a container to tcp:// with the remote API's client certificates; without them, or with foreign ones, the source runs on", async () => {
    await ok(a, ["run", "-d", "--name", "remote", reg.image, "sh", "-c", COUNTER]);
    await until(async () => counted(await ok(a, ["logs", "remote"])) >= 3, "the count to reach 3");
    const to = `tcp://${tlsAddress}`;
    // No certificates where docker looks for them: refused before anything is frozen.
    const none = await pier(a, ["migrate", "remote", "--to", to], {
      env: { HOME: certDir, DOCKER_CERT_PATH: join(certDir, "nowhere") },
    });
    assert.equal(none.status, 1);
    assert.match(
      none.stderr,
      /needs the remote API's TLS client certificates: cannot read .*ca\.pem \(--tlscacert\)/,
    );
    // A client certificate the target's CA did not sign: the handshake fails, the source runs on.
    const foreign = join(certDir, "foreign");
    await mkdir(foreign);
    await writeSelfSignedKeyPair(foreign, "intruder");
    const refused = await pier(a, [
      "migrate",
      "remote",
      "--to",
      to,
      "--tlscacert",
      join(certDir, "ca.pem"),
      "--tlscert",
      join(foreign, "cert.pem"),
      "--tlskey",
      join(foreign, "key.pem"),
    ]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /migration target: /);
    assert.equal(
      (await ok(a, ["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "remote"])).trim(),
      "running false",
    );
    let at = counted(await ok(a, ["logs", "remote"]));
    await until(async () => counted(await ok(a, ["logs", "remote"])) > at + 2, "the source to count on");
    assert.equal((await docker(b, ["inspect", "remote"])).status, 1, "nothing stays on the target");
    // With docker's DOCKER_CERT_PATH: it moves.
    await ok(a, ["pause", "remote"]);
    at = counted(await ok(a, ["logs", "remote"]));
    const r = await pier(a, ["migrate", "remote", "--to", to], { env: { DOCKER_CERT_PATH: certs.client } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^remote migrated to tcp:\/\/\S+ as [0-9a-f]{12} .*downtime \d+ ms/);
    assert.equal((await docker(a, ["inspect", "remote"])).status, 1);
    await until(async () => countsOnFrom(await ok(b, ["logs", "remote"]), at) >= 3, "the target's count");
    await ok(b, ["rm", "-f", "remote"]);
  });

  it("hands a container over through a registry: pushed frozen, the source stopped, restored by the target; an unreachable registry leaves it running", async () => {
    await ok(a, ["run", "-d", "--name", "viareg", reg.image, "sh", "-c", COUNTER]);
    await until(async () => counted(await ok(a, ["logs", "viareg"])) >= 3, "the count to reach 3");
    const gone = await pier(a, ["migrate", "viareg", "--to", "127.0.0.1:1/busybox:viareg"]);
    assert.equal(gone.status, 1);
    assert.equal(
      (await ok(a, ["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "viareg"])).trim(),
      "running false",
    );
    let at = counted(await ok(a, ["logs", "viareg"]));
    await until(async () => counted(await ok(a, ["logs", "viareg"])) > at + 2, "the source to count on");
    await ok(a, ["pause", "viareg"]);
    at = counted(await ok(a, ["logs", "viareg"]));
    const ref = `${reg.image.replace(/:latest$/, "")}:viareg`;
    const r = await pier(a, ["migrate", "viareg", "--to", ref]);
    assert.equal(r.status, 0, r.stderr);
    const image = /checkpointed to (\S+): downtime \d+ ms until pushed/.exec(r.stdout)?.[1];
    assert.ok(image, r.stdout);
    assert.equal((await ok(a, ["inspect", "-f", "{{.State.Status}}", "viareg"])).trim(), "exited");
    const restored = await pier(b, ["restore", image]);
    assert.equal(restored.status, 0, restored.stderr);
    await until(async () => countsOnFrom(await ok(b, ["logs", "viareg"]), at) >= 3, "the target's count");
    await ok(a, ["rm", "-f", "viareg"]);
    await ok(b, ["rm", "-f", "viareg"]);
  });
});
