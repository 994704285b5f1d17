/**
 * Rootless podman (Debian 4.3, run by an unprivileged user created for the test) with
 * pier-runtime as `--runtime`: podman makes the user namespace (newuidmap, /etc/subuid) and runs
 * the runtime as uid 0 inside it, which pier-runtime must treat as rootless, as runc does
 * (state under $XDG_RUNTIME_DIR, no cgroup writes outside a delegated tree, devices bound).
 */
import assert from "node:assert/strict";
import { chmodSync, chownSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { PODMAN_IMAGE, type PodmanFixture, podmanWithPier } from "../testing/runtime-podman.js";
import { ensureRootlessUser, type RootlessUser } from "../testing/runtime-rootless.js";

let tmp = "";
let user: RootlessUser | undefined;
let fx: PodmanFixture | undefined;
let xdg = "";

before(async () => {
  user = ensureRootlessUser();
  tmp = await makeTempDir("pier-rootless-podman-");
  chmodSync(tmp, 0o755);
  const home = join(tmp, "home");
  xdg = join(tmp, "xdg");
  mkdirSync(home);
  mkdirSync(xdg, { mode: 0o700 });
  for (const d of [tmp, home, xdg]) chownSync(d, user.uid, user.gid);
  fx = await podmanWithPier(tmp, {
    uid: user.uid,
    gid: user.gid,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: home, XDG_RUNTIME_DIR: xdg },
  });
});

after(async () => {
  fx?.dispose();
  await removeTempDir(tmp);
});

const pm = (...args: string[]) => {
  if (!fx) throw new Error("podman fixture not set up");
  return fx.pm(...args);
};

test("rootless podman run --rm: root inside maps to the user, subordinate ids beyond, seccomp on", () => {
  const r = pm(
    "run",
    "--rm",
    "--network",
    "none",
    PODMAN_IMAGE,
    "sh",
    "-c",
    "id -u; cat /proc/self/uid_map; grep Seccomp: /proc/self/status",
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines[0], "0");
  assert.deepEqual(lines[1]?.trim().split(/\s+/), ["0", String(user?.uid), "1"]);
  assert.deepEqual(lines[2]?.trim().split(/\s+/), ["1", String(user?.subUid), "65536"]);
  assert.match(lines[3] ?? "", /^Seccomp:\s+2$/);
  // pier-runtime kept its state where runc would: $XDG_RUNTIME_DIR, not /run.
  assert.ok(existsSync(join(xdg, "pier-runtime")), "state root under XDG_RUNTIME_DIR");
});

test("rootless podman run -d, exec, stop, rm", () => {
  const name = `pier-rl-${process.pid}`;
  const run = pm("run", "-d", "--name", name, "--network", "none", PODMAN_IMAGE, "sleep", "1000");
  assert.equal(run.status, 0, run.stderr);
  const ex = pm("exec", name, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '");
  assert.equal(ex.status, 0, ex.stderr);
  assert.equal(ex.stdout, "sleep 1000 ");
  assert.equal(pm("stop", "-t", "1", name).status, 0);
  assert.equal(pm("rm", name).status, 0);
  assert.doesNotMatch(pm("ps", "-a", "--format", "{{.Names}}").stdout, new RegExp(name));
});
