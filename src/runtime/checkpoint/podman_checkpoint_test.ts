/**
 * `podman --runtime pier-runtime container checkpoint/restore` (podman 4.3 passes runc's flags),
 * with CRIU 4 first in podman's PATH: in place, and through an exported archive into a fresh
 * container, with and without a terminal. Podman refuses to restore an archive made under another runtime (it records the
 * runtime in the archive), so runc ↔ pier-runtime interop is tested at the runtime level in
 * checkpoint_test.ts.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { checkpointTestSkip, criuFirstInPath, assertSucceeded as ok } from "../../testing/runtime-criu.js";
import {
  PODMAN_IMAGE,
  PODMAN_ULIMITS,
  type PodmanFixture,
  podmanWithPier,
} from "../../testing/runtime-podman.js";

const skip = await checkpointTestSkip("podman_checkpoint_test");

const COUNTER = "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("podman checkpoint/restore with pier-runtime", { skip }, () => {
  let dir = "";
  let f: PodmanFixture;
  let savedPath: string | undefined;
  before(async () => {
    savedPath = process.env.PATH;
    // podman looks for criu in PATH only
    process.env.PATH = criuFirstInPath();
    dir = await mkdtemp(join(tmpdir(), "pier-criu-podman-"));
    f = await podmanWithPier(dir);
  });
  after(async () => {
    f?.dispose();
    process.env.PATH = savedPath;
    await rm(dir, { recursive: true, force: true });
  });

  const lastCount = (name: string): number => {
    const r = f.pm("logs", name);
    const lines = r.stdout.trim().split("\n");
    return Number(lines[lines.length - 1]);
  };

  it("checkpoints and restores a counting container in place, the count going on", async () => {
    ok(f.pm("run", "-d", ...PODMAN_ULIMITS, "--name", "cnt", PODMAN_IMAGE, "sh", "-c", COUNTER), "run");
    await sleep(500);
    ok(f.pm("container", "checkpoint", "cnt"), "checkpoint");
    assert.match(f.pm("inspect", "-f", "{{.State.Status}}", "cnt").stdout, /exited/);
    const at = lastCount("cnt");
    ok(f.pm("container", "restore", "cnt"), "restore");
    await sleep(400);
    assert.match(f.pm("inspect", "-f", "{{.State.Status}}", "cnt").stdout, /running/);
    const later = lastCount("cnt");
    assert.ok(later > at && later < at + 40, `counted on from ${at}: ${later}`);
    ok(f.pm("rm", "-f", "-t", "0", "cnt"), "rm");
  });

  it("exports a checkpoint archive and imports it as a new container", async () => {
    ok(f.pm("run", "-d", ...PODMAN_ULIMITS, "--name", "exp", PODMAN_IMAGE, "sh", "-c", COUNTER), "run");
    await sleep(500);
    const archive = join(dir, "exp.tar.zst");
    ok(f.pm("container", "checkpoint", "--export", archive, "exp"), "checkpoint --export");
    const at = lastCount("exp");
    ok(f.pm("rm", "-f", "exp"), "rm");
    ok(f.pm("container", "restore", "--import", archive), "restore --import");
    await sleep(400);
    const later = lastCount("exp");
    assert.ok(later > at && later < at + 40, `counted on from ${at}: ${later}`);
    ok(f.pm("rm", "-f", "-t", "0", "exp"), "rm");
  });

  it("checkpoints and restores a terminal (-t) container, in place and through an archive, its log going on", async () => {
    const ticks = (name: string): number[] =>
      [...f.pm("logs", name).stdout.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
    /** The last count in the log once it has passed `n` (10 s at most). */
    const ticksAbove = async (name: string, n: number): Promise<number> => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const last = ticks(name).at(-1) ?? 0;
        if (last > n || Date.now() > deadline) return last;
        await sleep(50);
      }
    };
    const script = "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.05; done";
    ok(f.pm("run", "-dt", ...PODMAN_ULIMITS, "--name", "tty", PODMAN_IMAGE, "sh", "-c", script), "run -dt");
    await ticksAbove("tty", 3);
    ok(f.pm("container", "checkpoint", "tty"), "checkpoint");
    const at = ticks("tty").at(-1) ?? 0;
    ok(f.pm("container", "restore", "tty"), "restore");
    const later = await ticksAbove("tty", at + 2);
    assert.ok(later > at + 2 && later < at + 100, `the console's log counted on from ${at}: ${later}`);
    const archive = join(dir, "tty.tar.zst");
    ok(f.pm("container", "checkpoint", "--export", archive, "tty"), "checkpoint --export");
    const at2 = ticks("tty").at(-1) ?? 0;
    ok(f.pm("rm", "-f", "tty"), "rm");
    ok(f.pm("container", "restore", "--import", archive), "restore --import");
    const later2 = await ticksAbove("tty", at2 + 2);
    assert.ok(later2 > at2 + 2 && later2 < at2 + 100, `counted on from ${at2}: ${later2}`);
    assert.match(f.pm("exec", "tty", "tty").stdout, /not a tty/, "exec without -t has no terminal");
    ok(f.pm("rm", "-f", "-t", "0", "tty"), "rm");
  });
});
