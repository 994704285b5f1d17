/**
 * Live migration between two pierd instances on this machine (different roots, exec roots and
 * bridges): a counting container moves from one to the other with `POST /containers/{id}/migrate`
 * and counts on there under the same name, the source gone; a migration to a pierd that lacks
 * the image fails and leaves the source running and counting; a bad target is refused before
 * anything is frozen.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
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
import { criuSkipReason } from "../../testing/runtime-criu.js";
import { parseMigrationTarget } from "./migrate.js";

const skip = await criuSkipReason();
if (skip) process.stderr.write(`migrate_test: SKIPPED: ${skip}\n`);

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
    assert.throws(() => parseMigrationTarget("ssh://x"), /invalid migration target/);
  });
});

describe("migration between two pierd", { skip }, () => {
  let reg: BusyboxRegistry;
  let a: TestDaemon;
  let b: TestDaemon;
  let bare: TestDaemon;
  before(async () => {
    requireDocker();
    reg = await busyboxRegistry();
    [a, b, bare] = [await startTestDaemon(), await startTestDaemon(), await startTestDaemon()];
    for (const d of [a, b]) {
      const r = await docker(d, ["pull", reg.image]);
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(async () => {
    for (const d of [a, b, bare]) await d?.stop();
    await reg?.stop();
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
    assert.match(
      r.stdout,
      /^mover migrated to \S+ as [0-9a-f]{12} \(\d+\.\d+\.\d+\.\d+\/\d+\): downtime \d+ ms, \d+ bytes\n$/,
    );
    // The source is gone; the target runs it under the same name and counts on.
    assert.equal((await docker(a, ["inspect", "mover"])).status, 1);
    assert.equal((await ok(b, ["inspect", "-f", "{{.State.Status}}", "mover"])).trim(), "running");
    // The target's log starts at the migration, its numbers going on from the source's.
    await until(async () => countsOnFrom(await ok(b, ["logs", "mover"]), at) >= 3, "the target's count");
    await ok(b, ["rm", "-f", "mover"]);
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
});
