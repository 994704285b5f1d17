/**
 * Checkpoint/restore on the real kernel with the real CRIU (>= 4, as scripts/install-criu.sh
 * installs it): a counting busybox container keeps counting after a restore, --leave-running
 * keeps it running, refused flags fail cleanly without touching the container.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runtimeCmd, scriptSpec, writeBundle } from "../../testing/runtime.js";
import {
  checkpointTestSkip,
  rootfsCount as count,
  criuFirstInPath,
  assertSucceeded as ok,
  runWithPipes,
} from "../../testing/runtime-criu.js";

const skip = await checkpointTestSkip("checkpoint_test");

// The count is written aside and renamed into place: a dump taken between `>`'s truncation and
// the write would otherwise leave /count empty until the restored process writes it again.
const COUNTER =
  "i=0; while true; do i=$((i+1)); echo $i > /count.new; mv /count.new /count; sleep 0.05; done";

/** The count once it has passed `n` (10 s at most): the restored process counts on. */
async function countAbove(rootfs: string, n: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const now = await count(rootfs);
    if (now > n || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("pier-runtime checkpoint/restore", { skip }, () => {
  let dir = "";
  let bundle = "";
  const root = () => join(dir, "state");
  const id = `criu-test-${process.pid}`;
  const pr = (args: string[]) => runtimeCmd("pier", ["--root", root(), ...args], { timeout: 60000 });
  let n = 0;
  const prDetached = (args: string[]) => runWithPipes(["--root", root(), ...args], join(dir, `out-${n++}`));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pier-criu-"));
    bundle = await writeBundle(
      join(dir, "bundle"),
      scriptSpec(COUNTER, (s) => {
        if (s.root) s.root.readonly = false;
      }),
    );
  });
  after(async () => {
    pr(["delete", "--force", id]);
    await rm(dir, { recursive: true, force: true });
  });

  it("a counting container keeps counting from where it was after checkpoint and restore", async () => {
    ok(prDetached(["run", "-d", "--bundle", bundle, id]), "run");
    await sleep(500);
    const images = join(dir, "images1");
    ok(pr(["checkpoint", "--image-path", images, id]), "checkpoint");
    // runc deletes the checkpointed container: the id is free, its processes gone
    assert.notEqual(pr(["state", id]).status, 0);
    assert.ok(existsSync(join(images, "inventory.img")));
    const frozen = await count(join(bundle, "rootfs"));
    await sleep(300);
    assert.equal(await count(join(bundle, "rootfs")), frozen, "nothing counts while checkpointed");
    ok(prDetached(["restore", "-d", "--image-path", images, "--bundle", bundle, id]), "restore");
    const st = JSON.parse(pr(["state", id]).stdout) as { status: string; pid: number };
    assert.equal(st.status, "running");
    const later = await countAbove(join(bundle, "rootfs"), frozen);
    assert.ok(later > frozen && later < frozen + 40, `counted on from ${frozen}: ${later}`);
    ok(pr(["kill", id, "KILL"]), "kill");
    await sleep(200);
    ok(pr(["delete", id]), "delete");
  });

  it("restore runs prestart and createRuntime hooks with the restored init's pid, as runc; a failing hook fails it", async () => {
    const hooked = join(dir, "hooked");
    const hook = (file: string, extra = "") => ({
      path: "/bin/sh",
      args: ["sh", "-c", `cat > ${join(dir, file)}${extra}`],
    });
    const hb = await writeBundle(
      hooked,
      scriptSpec(COUNTER, (s) => {
        if (s.root) s.root.readonly = false;
        s.hooks = { prestart: [hook("prestart.json")], createRuntime: [hook("createRuntime.json")] };
      }),
    );
    const hid = `${id}-hooks`;
    ok(prDetached(["run", "-d", "--bundle", hb, hid]), "run");
    await sleep(300);
    const images = join(dir, "images-hooks");
    ok(pr(["checkpoint", "--image-path", images, hid]), "checkpoint");
    await rm(join(dir, "prestart.json"));
    await rm(join(dir, "createRuntime.json"));
    ok(prDetached(["restore", "-d", "--image-path", images, "--bundle", hb, hid]), "restore");
    const st = JSON.parse(pr(["state", hid]).stdout) as { pid: number };
    for (const f of ["prestart.json", "createRuntime.json"]) {
      const seen = JSON.parse(readFileSync(join(dir, f), "utf8")) as {
        id: string;
        status: string;
        pid: number;
      };
      assert.equal(seen.id, hid, f);
      assert.equal(seen.status, "creating", f);
      assert.equal(seen.pid, st.pid, `${f}: the restored init's pid`);
    }
    ok(pr(["checkpoint", "--image-path", join(dir, "images-hooks2"), hid]), "checkpoint again");
    // A prestart hook that fails: the restore fails, nothing of it stays.
    const spec = JSON.parse(readFileSync(join(hb, "config.json"), "utf8")) as {
      hooks: { prestart: unknown[] };
    };
    spec.hooks.prestart = [hook("prestart.json", "; exit 3")];
    writeFileSync(join(hb, "config.json"), JSON.stringify(spec));
    const failed = prDetached([
      "restore",
      "-d",
      "--image-path",
      join(dir, "images-hooks2"),
      "--bundle",
      hb,
      hid,
    ]);
    assert.notEqual(failed.status, 0);
    assert.match(failed.stderr, /prestart/);
    assert.notEqual(pr(["state", hid]).status, 0, "no container stays");
  });

  it("--leave-running dumps and keeps the container running", async () => {
    ok(prDetached(["run", "-d", "--bundle", bundle, id]), "run");
    await sleep(300);
    const images = join(dir, "images2");
    ok(pr(["checkpoint", "--leave-running", "--image-path", images, id]), "checkpoint");
    assert.equal((JSON.parse(pr(["state", id]).stdout) as { status: string }).status, "running");
    const a = await count(join(bundle, "rootfs"));
    assert.ok((await countAbove(join(bundle, "rootfs"), a)) > a, "still counting");
    assert.ok(existsSync(join(images, "inventory.img")));
    ok(pr(["delete", "--force", id]), "delete");
  });

  it("refuses what this kernel or pier-runtime cannot do, naming it, and leaves the container running", async () => {
    ok(prDetached(["run", "-d", "--bundle", bundle, id]), "run");
    const images = join(dir, "images3");
    const pre = pr(["checkpoint", "--pre-dump", "--image-path", images, id]);
    if (pre.status !== 0) assert.match(pre.stderr, /--pre-dump: this kernel has no memory change tracking/);
    const lazy = pr(["checkpoint", "--lazy-pages", "--image-path", images, id]);
    assert.notEqual(lazy.status, 0);
    assert.match(lazy.stderr, /--lazy-pages: /);
    const mode = pr(["checkpoint", "--manage-cgroups-mode", "bogus", "--image-path", images, id]);
    assert.notEqual(mode.status, 0);
    assert.match(mode.stderr, /invalid --manage-cgroups-mode value .*bogus/);
    const ns = pr(["checkpoint", "--empty-ns", "ipc", "--image-path", images, id]);
    assert.notEqual(ns.status, 0);
    assert.match(ns.stderr, /--empty-ns ipc: only .*network/);
    const bad = pr(["checkpoint", "--criu", "/nonexistent/criu", "--image-path", images, id]);
    assert.notEqual(bad.status, 0);
    assert.equal((JSON.parse(pr(["state", id]).stdout) as { status: string }).status, "running");
    ok(pr(["delete", "--force", id]), "delete");
  });

  it("restores runc's checkpoint, and runc restores pier-runtime's (same images, same CRIU)", async () => {
    const runcRoot = join(dir, "runc-state");
    const runc = (args: string[], out: string) => {
      const r = spawnSync(
        "bash",
        ["-c", 'exec runc --root "$RR" "$@" < <(:) > >(exec cat >"$OUT") 2>&1', "bash", ...args],
        {
          stdio: "ignore",
          env: { ...process.env, RR: runcRoot, OUT: out, PATH: criuFirstInPath() },
          timeout: 60000,
        },
      );
      return { status: r.status, stderr: existsSync(out) ? readFileSync(out, "utf8") : "" };
    };
    const rootfs = join(bundle, "rootfs");
    ok(runc(["run", "-d", "--bundle", bundle, id], join(dir, "runc-run")), "runc run");
    await sleep(300);
    const fromRunc = join(dir, "images-runc");
    ok(runc(["checkpoint", "--image-path", fromRunc, id], join(dir, "runc-ck")), "runc checkpoint");
    const a = await count(rootfs);
    ok(prDetached(["restore", "-d", "--image-path", fromRunc, "--bundle", bundle, id]), "pier restore");
    const b = await countAbove(rootfs, a);
    assert.ok(b > a && b < a + 40, `pier-runtime counted on from runc's ${a}: ${b}`);
    const fromPier = join(dir, "images-pier");
    ok(pr(["checkpoint", "--image-path", fromPier, id]), "pier checkpoint");
    const c = await count(rootfs);
    ok(
      runc(["restore", "-d", "--image-path", fromPier, "--bundle", bundle, id], join(dir, "runc-rs")),
      "runc restore",
    );
    const d = await countAbove(rootfs, c);
    assert.ok(d > c && d < c + 40, `runc counted on from pier-runtime's ${c}: ${d}`);
    runc(["delete", "--force", id], join(dir, "runc-rm"));
  });

  it("restore without --detach waits for the restored container and exits with its status", async () => {
    const fg = await writeBundle(
      join(dir, "fg"),
      scriptSpec(
        "i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo $i > /count.new; mv /count.new /count; sleep 0.05; done; exit 3",
        (s) => {
          if (s.root) s.root.readonly = false;
        },
      ),
      join(bundle, "rootfs"),
    );
    ok(prDetached(["run", "-d", "--bundle", fg, id]), "run");
    await sleep(300);
    const images = join(dir, "images-fg");
    ok(pr(["checkpoint", "--image-path", images, id]), "checkpoint");
    const at = await count(join(bundle, "rootfs"));
    assert.ok(at < 30, `checkpointed before the end: ${at}`);
    const r = prDetached(["restore", "--image-path", images, "--bundle", fg, id]);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(await count(join(bundle, "rootfs")), 30);
    assert.equal((JSON.parse(pr(["state", id]).stdout) as { status: string }).status, "stopped");
    ok(pr(["delete", id]), "delete");
  });
});
