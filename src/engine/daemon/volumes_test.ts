/**
 * Bind mounts, named volumes and tmpfs with the stock docker CLI against pierd.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type BusyboxRegistry, docker, pier, type TestDaemon, useTestDaemon } from "../../testing/engine.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
useTestDaemon({
  ready: (fx) => {
    ({ reg, d } = fx);
  },
  pull: true,
});
let host: string;

before(async () => {
  host = mkdtempSync(join(tmpdir(), "pier-vol-host-"));
});

after(async () => {
  if (host) rmSync(host, { recursive: true, force: true });
});

test("a bind mount is visible and writable; :ro refuses writes", async () => {
  writeFileSync(join(host, "in.txt"), "from-host\n");
  const r = await docker(d, [
    "run",
    "--rm",
    "-v",
    `${host}:/data`,
    reg.image,
    "sh",
    "-c",
    "cat /data/in.txt && echo from-ctr > /data/out.txt",
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "from-host\n");
  assert.equal(readFileSync(join(host, "out.txt"), "utf8"), "from-ctr\n");

  const ro = await docker(d, [
    "run",
    "--rm",
    "-v",
    `${host}:/data:ro`,
    reg.image,
    "sh",
    "-c",
    "cat /data/in.txt; echo x > /data/ro.txt",
  ]);
  assert.notEqual(ro.status, 0, "writing to a :ro bind must fail");
  assert.equal(ro.stdout, "from-host\n");
  assert.match(ro.stderr, /Read-only file system/);
  assert.equal(existsSync(join(host, "ro.txt")), false);

  const m = await docker(d, [
    "run",
    "--rm",
    "--mount",
    `type=bind,src=${host},dst=/m,readonly`,
    reg.image,
    "sh",
    "-c",
    "cat /m/in.txt; touch /m/x",
  ]);
  assert.notEqual(m.status, 0);
  assert.equal(m.stdout, "from-host\n");
  assert.match(m.stderr, /Read-only file system/);
});

test("a missing --mount type=bind source is refused and leaves no container (-v makes it)", async () => {
  const missing = join(host, "does-not-exist");
  const r = await docker(d, [
    "create",
    "--name",
    "badbind",
    "--mount",
    `type=bind,src=${missing},dst=/x`,
    reg.image,
    "true",
  ]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`invalid mount config: bind source path does not exist: ${missing}`));
  const ps = await docker(d, ["ps", "-aq"]);
  assert.equal(ps.stdout.trim(), "");
  assert.equal(existsSync(missing), false, "the source is not created");
});

test("a named volume keeps data across containers and survives docker rm", async () => {
  const w = await docker(d, [
    "run",
    "--name",
    "writer",
    "-v",
    "keep:/vol",
    reg.image,
    "sh",
    "-c",
    "echo kept > /vol/f",
  ]);
  assert.equal(w.status, 0, w.stderr);
  const ls = await docker(d, ["volume", "ls", "-q"]);
  assert.equal(ls.stdout.trim(), "keep");
  const inUse = await docker(d, ["volume", "rm", "keep"]);
  assert.notEqual(inUse.status, 0);
  assert.match(inUse.stderr, /volume is in use/);
  const rm = await docker(d, ["rm", "writer"]);
  assert.equal(rm.status, 0, rm.stderr);
  const r = await docker(d, ["run", "--rm", "-v", "keep:/other", reg.image, "cat", "/other/f"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "kept\n");
  const insp = await docker(d, ["volume", "inspect", "--format", "{{.Mountpoint}}", "keep"]);
  assert.equal(insp.status, 0, insp.stderr);
  assert.equal(insp.stdout.trim(), join(d.root, "volumes", "keep", "_data"));
  assert.equal(readFileSync(join(insp.stdout.trim(), "f"), "utf8"), "kept\n");
  const del = await docker(d, ["volume", "rm", "keep"]);
  assert.equal(del.status, 0, del.stderr);
  assert.equal((await docker(d, ["volume", "ls", "-q"])).stdout.trim(), "");
  assert.equal(existsSync(join(d.root, "volumes", "keep")), false);
});

test("docker volume create/inspect/rm, and a new volume gets the image's content", async () => {
  const c = await docker(d, ["volume", "create", "made"]);
  assert.equal(c.status, 0, c.stderr);
  assert.equal(c.stdout.trim(), "made");
  const missing = await docker(d, ["volume", "inspect", "nosuch"]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /no such volume/);
  const bad = await docker(d, ["run", "--rm", "-v", "bad$name:/x", reg.image, "true"]);
  assert.notEqual(bad.status, 0);
  // /bin of the image is copied up into a new, empty volume, as Docker does.
  const up = await docker(d, ["run", "--rm", "-v", "copied:/bin", reg.image, "/bin/busybox", "ls", "/bin"]);
  assert.equal(up.status, 0, up.stderr);
  assert.match(up.stdout, /busybox/);
  assert.equal(existsSync(join(d.root, "volumes", "copied", "_data", "busybox")), true);
  const lab = await docker(d, ["volume", "create", "--label", "team=pier", "labelled"]);
  assert.equal(lab.status, 0, lab.stderr);
  const byLabel = await docker(d, ["volume", "ls", "-q", "--filter", "label=team=pier"]);
  assert.equal(byLabel.stdout.trim(), "labelled");
  const labels = await docker(d, ["volume", "inspect", "--format", "{{json .Labels}}", "labelled"]);
  assert.equal(labels.stdout.trim(), '{"team":"pier"}');
  const held = await docker(d, ["create", "--name", "holder", "-v", "made:/m", reg.image, "true"]);
  assert.equal(held.status, 0, held.stderr);
  const dangling = await docker(d, ["volume", "ls", "-q", "--filter", "dangling=true"]);
  assert.deepEqual(dangling.stdout.trim().split("\n").sort(), ["copied", "labelled"]);
  assert.equal((await docker(d, ["rm", "holder"])).status, 0);
  for (const v of ["made", "copied", "labelled"])
    assert.equal((await docker(d, ["volume", "rm", v])).status, 0);
});

test("--tmpfs mounts a tmpfs", async () => {
  const r = await docker(d, [
    "run",
    "--rm",
    "--tmpfs",
    "/scratch:size=1m",
    reg.image,
    "sh",
    "-c",
    "grep ' /scratch ' /proc/mounts && echo ok > /scratch/f && cat /scratch/f",
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^tmpfs \/scratch tmpfs .*size=1024k/m);
  assert.match(r.stdout, /ok\n$/);
});

test("pier run -v and --tmpfs reach the engine's own API", async () => {
  writeFileSync(join(host, "p.txt"), "pier-bind\n");
  const r = await pier(d, [
    "run",
    "--rm",
    "-v",
    `${host}:/h:ro`,
    "-v",
    "piervol:/pv",
    "--tmpfs",
    "/t:size=2m",
    reg.image,
    "sh",
    "-c",
    "cat /h/p.txt; echo v > /pv/f; grep -c ' /t tmpfs ' /proc/mounts; touch /h/no",
  ]);
  assert.notEqual(r.status, 0, "the :ro bind refuses the last write");
  assert.equal(r.stdout, "pier-bind\n1\n");
  assert.equal(readFileSync(join(d.root, "volumes", "piervol", "_data", "f"), "utf8"), "v\n");
  assert.equal((await docker(d, ["volume", "rm", "piervol"])).status, 0);
});

test("-v /path alone makes an anonymous volume that outlives the container", async () => {
  const r = await docker(d, [
    "run",
    "--name",
    "anon",
    "-v",
    "/anon",
    reg.image,
    "sh",
    "-c",
    "echo a > /anon/f",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const name = (
    await docker(d, ["inspect", "--format", "{{range .Mounts}}{{.Name}}{{end}}", "anon"])
  ).stdout.trim();
  assert.match(name, /^[0-9a-f]{64}$/);
  assert.equal(readFileSync(join(d.root, "volumes", name, "_data", "f"), "utf8"), "a\n");
  assert.equal((await docker(d, ["rm", "anon"])).status, 0);
  assert.equal((await docker(d, ["volume", "rm", name])).status, 0);
});

test("docker rm -v removes the container's anonymous volumes, never named ones", async () => {
  const r = await docker(d, ["run", "--name", "anon2", "-v", "/x", "-v", "named2:/y", reg.image, "true"]);
  assert.equal(r.status, 0, r.stderr);
  const anon = (
    await docker(d, ["volume", "ls", "-q", "--filter", "label=com.docker.volume.anonymous"])
  ).stdout.trim();
  assert.match(anon, /^[0-9a-f]{64}$/);
  assert.equal((await docker(d, ["rm", "-v", "anon2"])).status, 0);
  assert.equal((await docker(d, ["volume", "ls", "-q"])).stdout.trim(), "named2");
  assert.equal((await docker(d, ["volume", "rm", "named2"])).status, 0);
});
