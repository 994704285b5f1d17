/**
 * The engine's checkpoints of a container with a terminal (`pier run -dit`), with CRIU 4: after
 * `pier checkpoint create` and `pier restore --checkpoint`, the monitor has the restored pty (the
 * runtime sent CRIU's new master to its console socket), so `pier logs` goes on where it
 * stopped, `pier attach` reaches the very shell that was checkpointed (its variables kept) and
 * `pier exec` runs in it; an exported archive restores as a new container with its terminal; the
 * docker CLI's `checkpoint create` and `start --checkpoint` do the same through pierd.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { until, useCheckpointDaemon } from "../../testing/checkpoints.js";
import { docker, pier, pierCommand } from "../../testing/engine.js";
import { ptyDialogue } from "../../testing/pty-dialogue.js";

const { skip, fx } = await useCheckpointDaemon("terminal_checkpoint_test", { pull: true });

/** A shell on the terminal, with a counter printing there in the background. */
const SHELL_WITH_COUNTER = "(i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done) & exec sh";

async function cli(args: string[]): Promise<string> {
  const r = await pier(fx.d, args);
  assert.equal(r.status, 0, `pier ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** pier's record of a container (`pier inspect`). */
async function record(name: string): Promise<{ status: string; config: { tty?: boolean } }> {
  return (JSON.parse(await cli(["inspect", name])) as { status: string; config: { tty?: boolean } }[])[0]!;
}

/** The counts in a log, checked to go 1, 2, 3, … without a gap or a restart. */
async function ticks(name: string): Promise<number> {
  const nums = [...(await cli(["logs", name])).matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
  nums.forEach((n, i) => {
    assert.equal(n, i + 1, `the log counts on without a gap or a restart: tick ${i + 1} is ${n}`);
  });
  return nums.length;
}

/**
 * `pier attach NAME` on a terminal: once the output shows `expect`, types `line`; once it shows
 * `reply`, detaches with ctrl-p ctrl-q. Resolves with what the terminal showed.
 */
async function attachAndType(name: string, expect: string, line: string, reply: string): Promise<string> {
  const [cmd, argv] = pierCommand(["attach", name]);
  const r = await ptyDialogue(
    [cmd, ...argv],
    [
      [expect, `${line}\r`],
      [reply, "\x10\x11"],
    ],
    { env: { ...process.env, PIER_HOST: fx.d.socket }, seconds: 30 },
  );
  assert.equal(r.status, 0, `pier attach ${name}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

describe("checkpoints of a terminal container", { skip }, () => {
  it("pier run -dit, checkpoint create, restore: logs go on, attach reaches the same shell, exec works", async () => {
    await cli(["run", "-dit", "--name", "tty", fx.reg.image, "sh", "-c", SHELL_WITH_COUNTER]);
    await until(async () => (await ticks("tty")) >= 3, "the count to reach 3");
    const set = await attachAndType("tty", "tick", "X=4$((1+1)); echo set-$X", "set-42");
    assert.match(set, /set-42/);
    assert.equal(await cli(["checkpoint", "create", "tty", "c1"]), "c1\n");
    assert.equal((await record("tty")).status, "exited");
    const at = await ticks("tty");
    await cli(["restore", "--checkpoint", "c1", "tty"]);
    assert.equal((await record("tty")).status, "running");
    // the monitor logs the restored terminal: the count goes on in the same log
    await until(async () => (await ticks("tty")) >= at + 5, "the count to go on in pier logs");
    // the checkpointed shell itself answers on the restored terminal, its variable kept
    const got = await attachAndType("tty", "tick", "echo got-$X-$(tty)", "got-42-");
    assert.match(got, /got-42-\/dev\/pts\/\d+/);
    assert.equal((await cli(["exec", "tty", "sh", "-c", "echo exec-$((40+2))"])).trim(), "exec-42");

    // an exported archive: a new container with the terminal, its log counting on
    const archive = join(fx.d.dir, "tty.tar.zst");
    await cli(["checkpoint", "create", "--export", archive, "tty"]);
    const exported = await ticks("tty");
    await cli(["restore", "--import", archive, "--name", "tty2"]);
    assert.equal((await record("tty2")).config.tty, true);
    await until(
      async () => ((await cli(["logs", "tty2"])).match(/tick (\d+)/g) ?? []).length >= 3,
      "the import to count",
    );
    const first = Number((await cli(["logs", "tty2"])).match(/tick (\d+)/)?.[1]);
    assert.ok(first > exported && first <= exported + 3, `the import counts on from ${exported}: ${first}`);
    const again = await attachAndType("tty2", "tick", "echo again-$X", "again-42");
    assert.match(again, /again-42/);
    await cli(["rm", "-f", "tty", "tty2"]);
  });

  it("the docker CLI: checkpoint create and start --checkpoint of a -t container, its log going on", async () => {
    const dk = async (args: string[]) => {
      const r = await docker(fx.d, args);
      assert.equal(r.status, 0, `docker ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };
    await dk(["run", "-dt", "--name", "dtty", fx.reg.image, "sh", "-c", SHELL_WITH_COUNTER]);
    await until(async () => (await ticks("dtty")) >= 3, "the count to reach 3");
    await dk(["checkpoint", "create", "dtty", "d1"]);
    assert.equal((await dk(["inspect", "-f", "{{.State.Status}}", "dtty"])).trim(), "exited");
    const at = await ticks("dtty");
    await dk(["start", "--checkpoint", "d1", "dtty"]);
    await until(async () => (await ticks("dtty")) >= at + 5, "the count to go on in docker logs");
    assert.equal((await dk(["inspect", "-f", "{{.Config.Tty}}", "dtty"])).trim(), "true");
    await dk(["rm", "-f", "dtty"]);
  });
});
