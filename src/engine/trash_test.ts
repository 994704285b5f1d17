import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { Trash } from "./trash.js";

function tree(dir: string): void {
  mkdirSync(join(dir, "upper", "etc"), { recursive: true });
  mkdirSync(join(dir, "work", "work"), { recursive: true });
  writeFileSync(join(dir, "upper", "etc", "hosts"), "127.0.0.1 localhost\n");
}

test("a discarded directory is gone from its path at once and from the disk once settled", async (t) => {
  const base = await makeTempDir("pier-trash-");
  t.after(() => removeTempDir(base));
  const trash = new Trash(join(base, "trash"));
  const victim = join(base, "rw", "c1");
  tree(victim);
  trash.discard(victim);
  assert.equal(existsSync(victim), false);
  await trash.settled();
  assert.deepEqual(readdirSync(join(base, "trash")), []);
  // Nothing there: no error, nothing queued.
  trash.discard(join(base, "rw", "never-made"));
  await trash.settled();
});

test("the same name discarded twice does not collide; empty() deletes what an earlier daemon left", async (t) => {
  const base = await makeTempDir("pier-trash-");
  t.after(() => removeTempDir(base));
  const left = join(base, "trash", "c1-deadbeef");
  tree(left);
  const trash = new Trash(join(base, "trash"));
  assert.deepEqual(await trash.empty(), ["c1-deadbeef"]);
  assert.deepEqual(readdirSync(join(base, "trash")), []);
  for (let i = 0; i < 2; i++) {
    tree(join(base, "rw", "c1"));
    trash.discard(join(base, "rw", "c1"));
    assert.equal(existsSync(join(base, "rw", "c1")), false);
  }
  await trash.settled();
  assert.deepEqual(readdirSync(join(base, "trash")), []);
  assert.deepEqual(await new Trash(join(base, "none")).empty(), []);
});

test("a directory on another filesystem than the trash is deleted at once", async (t) => {
  const base = await makeTempDir("pier-trash-");
  const other = join(base, "tmpfs");
  mkdirSync(other);
  assert.equal(spawnSync("mount", ["-t", "tmpfs", "tmpfs", other]).status, 0, "mount a tmpfs (root)");
  t.after(async () => {
    spawnSync("umount", ["-l", other]);
    await removeTempDir(base);
  });
  const trash = new Trash(join(base, "trash"));
  const victim = join(other, "c1");
  tree(victim);
  trash.discard(victim);
  assert.equal(existsSync(victim), false);
  assert.deepEqual(readdirSync(join(base, "trash")), []);
});
