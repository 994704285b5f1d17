/**
 * The engine's checkpoints through real clients: the stock docker CLI's `checkpoint create|ls|rm`
 * and `start --checkpoint` through pierd, pier's own API (export, import, a hostile archive),
 * with CRIU 4. A counting busybox container must go on counting from where it was: its log is
 * the sequence 1, 2, 3, … without a gap or a restart from 1.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  api,
  COUNTER,
  counted,
  countsOnFrom,
  until,
  useCheckpointDaemon,
} from "../../testing/checkpoints.js";
import { docker, pier } from "../../testing/engine.js";

const { skip, fx } = await useCheckpointDaemon("checkpoints_test", { pull: true });

async function ok(args: string[]): Promise<string> {
  const r = await docker(fx.d, args);
  assert.equal(r.status, 0, `docker ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

const logCount = async (name: string) => counted(await ok(["logs", name]));
const state = async (name: string) => (await ok(["inspect", "-f", "{{.State.Status}}", name])).trim();

describe("checkpoints through the docker CLI and pier's API", { skip }, () => {
  it("docker checkpoint create stops the container; start --checkpoint goes on counting", async () => {
    await ok(["run", "-d", "--name", "cnt", fx.reg.image, "sh", "-c", COUNTER]);
    await until(async () => (await logCount("cnt")) >= 5, "the count to reach 5");
    const ipOf = async () => (await ok(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "cnt"])).trim();
    const ip = await ipOf();
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
    await ok(["checkpoint", "create", "cnt", "c1"]);
    assert.equal(await state("cnt"), "exited");
    const at = await logCount("cnt");
    assert.match(await ok(["checkpoint", "ls", "cnt"]), /^CHECKPOINT NAME\nc1\n$/);
    await ok(["start", "--checkpoint", "c1", "cnt"]);
    assert.equal(await state("cnt"), "running");
    await until(async () => (await logCount("cnt")) >= at + 5, "the count to go on");
    assert.equal(await ipOf(), ip, "the same address as before the checkpoint");

    // --leave-running: it keeps running (and counting) after the dump.
    await ok(["checkpoint", "create", "--leave-running", "cnt", "c2"]);
    assert.equal(await state("cnt"), "running");
    const later = await logCount("cnt");
    await until(async () => (await logCount("cnt")) > later + 3, "the count to go on after --leave-running");
    assert.match(await ok(["checkpoint", "ls", "cnt"]), /c1\nc2\n$/);

    // A name used twice is a conflict; rm removes it; rm of a missing one is a clear error.
    const again = await docker(fx.d, ["checkpoint", "create", "--leave-running", "cnt", "c2"]);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /checkpoint with name c2 already exists/);
    await ok(["checkpoint", "rm", "cnt", "c1"]);
    assert.match(await ok(["checkpoint", "ls", "cnt"]), /^CHECKPOINT NAME\nc2\n$/);
    const missing = await docker(fx.d, ["checkpoint", "rm", "cnt", "c1"]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /checkpoint c1 does not exist/);
    await ok(["rm", "-f", "cnt"]);
  });

  it("exports an archive and imports it as a new container that counts on", async () => {
    await ok(["run", "-d", "--name", "exp", fx.reg.image, "sh", "-c", COUNTER]);
    await until(async () => (await logCount("exp")) >= 5, "the count to reach 5");
    const archive = await api(
      fx.d.socket,
      "POST",
      "/v1/containers/exp/checkpoints",
      JSON.stringify({ export: true, compression: "zstd" }),
    );
    assert.equal(archive.status, 200, archive.body.toString());
    assert.equal(await state("exp"), "exited");
    const at = await logCount("exp");
    const imported = await api(fx.d.socket, "POST", "/v1/containers/import?name=imp", archive.body);
    assert.equal(imported.status, 201, imported.body.toString());
    assert.equal(await state("imp"), "running");
    // The new container's log starts empty; its count goes on from the old one's.
    await until(async () => countsOnFrom(await ok(["logs", "imp"]), at) >= 3, "the import to count");
    await ok(["rm", "-f", "exp", "imp"]);
  });

  it("the pier CLI: checkpoint create|ls|rm, start --checkpoint, --export and restore --import", async () => {
    const cli = async (args: string[]) => {
      const r = await pier(fx.d, args);
      assert.equal(r.status, 0, `pier ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };
    await ok(["run", "-d", "--name", "pc", fx.reg.image, "sh", "-c", COUNTER]);
    await until(async () => (await logCount("pc")) >= 5, "the count to reach 5");
    assert.equal(await cli(["checkpoint", "create", "pc", "cp1"]), "cp1\n");
    assert.equal(await state("pc"), "exited");
    assert.match(await cli(["checkpoint", "ls", "pc"]), /^CHECKPOINT NAME +CREATED\ncp1 +\d{4}-/);
    const at = await logCount("pc");
    await cli(["start", "--checkpoint", "cp1", "pc"]);
    await until(async () => (await logCount("pc")) >= at + 3, "the count to go on");
    const archive = join(fx.d.dir, "pc.tar.gz");
    await cli(["checkpoint", "create", "--export", archive, "--compress", "gzip", "pc"]);
    assert.equal(await state("pc"), "exited");
    const exported = await logCount("pc");
    const id = (await cli(["restore", "--import", archive, "--name", "pc2"])).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    await until(async () => countsOnFrom(await ok(["logs", "pc2"]), exported) >= 3, "the import to count");
    assert.equal(await cli(["checkpoint", "rm", "pc", "cp1"]), "cp1\n");
    const missing = await pier(fx.d, ["restore", "--import", join(fx.d.dir, "nonexistent.tar")]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /cannot read .*nonexistent\.tar: ENOENT/);
    await ok(["rm", "-f", "pc", "pc2"]);
  });

  it("refuses a broken archive clearly and leaves nothing behind", async () => {
    const before = (await ok(["ps", "-aq"])).trim();
    const bad = await api(
      fx.d.socket,
      "POST",
      "/v1/containers/import?name=bad",
      Buffer.from("not a tar at all, nope"),
    );
    assert.equal(bad.status, 400, bad.body.toString());
    assert.match(bad.body.toString(), /invalid checkpoint archive/);
    assert.equal((await ok(["ps", "-aq"])).trim(), before);
    const work = join(fx.d.root, "checkpoint-work");
    assert.ok(!existsSync(work) || readdirSync(work).length === 0, "no scratch directory stays");
  });
});
