import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { defaultRuntimeSpec, formatSpec } from "../../oci/runtime-spec/default-spec.js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { runtimeCmd } from "../../testing/runtime.js";

test("spec writes runc's default config.json and refuses to overwrite it", async () => {
  const dir = await makeTempDir("pier-cli-");
  try {
    assert.equal(runtimeCmd("pier", ["spec", "--bundle", dir]).status, 0);
    assert.equal(readFileSync(join(dir, "config.json"), "utf8"), formatSpec(defaultRuntimeSpec()));
    const again = runtimeCmd("pier", ["spec", "--bundle", dir]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /File config.json exists/);
  } finally {
    await removeTempDir(dir);
  }
});

test("features reports what works: hooks, namespaces, cgroups, seccomp", () => {
  const r = runtimeCmd("pier", ["features"]);
  assert.equal(r.status, 0, r.stderr);
  const f = JSON.parse(r.stdout);
  assert.equal(f.hooks.length, 6);
  assert.ok(f.mountOptions.includes("rro"));
  assert.ok(f.linux.namespaces.includes("user"));
  assert.equal(f.linux.seccomp.enabled, true);
  assert.equal(f.linux.apparmor.enabled, false);
});

test("usage errors and --log json: runc's shapes and exit status 1", async () => {
  const dir = await makeTempDir("pier-cli-");
  try {
    const u = runtimeCmd("pier", ["start"]);
    assert.equal(u.status, 1);
    assert.match(u.stderr, /Incorrect Usage/);
    const log = join(dir, "log.json");
    const r = runtimeCmd("pier", ["--root", dir, "--log", log, "--log-format", "json", "state", "nope"]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, "container does not exist\n");
    const entry = JSON.parse(readFileSync(log, "utf8").trim());
    assert.equal(entry.level, "error");
    assert.equal(entry.msg, "container does not exist");
    const k = runtimeCmd("pier", ["--root", dir, "kill", "nope", "SIGBOGUS"]);
    assert.equal(k.status, 1);
    assert.equal(runtimeCmd("pier", ["--root", dir, "list", "--format", "json"]).stdout, "null\n");
  } finally {
    await removeTempDir(dir);
  }
});

test("checkpoint and restore: runc-style errors, exit 1, --help exits 0 (podman probes it), listed in --help", async () => {
  const dir = await makeTempDir("pier-cli-");
  try {
    const c = runtimeCmd("pier", ["--root", dir, "checkpoint", "some-id"]);
    assert.equal(c.status, 1);
    assert.match(c.stderr, /level=error msg="container does not exist"/);
    const r = runtimeCmd("pier", ["--root", dir, "restore", "--bundle", dir, "some-id"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /config.json not found/);
    const bad = runtimeCmd("pier", [
      "--root",
      dir,
      "--criu",
      "/nonexistent/criu",
      "restore",
      "--bundle",
      dir,
      "x",
    ]);
    assert.equal(bad.status, 1);
    for (const verb of ["checkpoint", "restore"]) {
      const h = runtimeCmd("pier", [verb, "--help"]);
      assert.equal(h.status, 0, h.stderr);
      assert.match(h.stdout, new RegExp(`pier-runtime ${verb} \\[command options\\]`));
    }
    const h = runtimeCmd("pier", ["--help"]);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /^ {3}checkpoint +checkpoint a running container/m);
    assert.match(h.stdout, /^ {3}restore +restore a container/m);
  } finally {
    await removeTempDir(dir);
  }
});
