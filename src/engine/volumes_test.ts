import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { VolumeService } from "./volumes.js";

const root = mkdtempSync(join(tmpdir(), "pier-volumes-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("ensure creates once; populate copies only into an empty volume; remove refuses while in use", async () => {
  const v = new VolumeService(root);
  assert.equal(await v.ensure("data1"), true);
  assert.equal(await v.ensure("data1"), false);
  const src = join(root, "img");
  mkdirSync(join(src, "sub"), { recursive: true });
  writeFileSync(join(src, "sub", "a"), "A");
  symlinkSync("/etc/passwd", join(src, "link"));
  await v.populate("data1", src);
  assert.equal(readFileSync(join(v.dataPath("data1"), "sub", "a"), "utf8"), "A");
  writeFileSync(join(src, "b"), "B");
  await v.populate("data1", src);
  assert.equal(existsSync(join(v.dataPath("data1"), "b")), false, "a non-empty volume is left alone");
  await v.populate("data1", join(root, "missing"));
  assert.deepEqual(
    (await v.list()).map((i) => i.Name),
    ["data1"],
  );
  await assert.rejects(v.remove("data1", ["web"]), { code: "INVALID_STATE", message: /in use - \[web\]/ });
  assert.equal(v.exists("data1"), true);
  await v.remove("data1", []);
  assert.equal(v.exists("data1"), false);
  assert.deepEqual(readdirSync(v.dir), [], "no temp or doomed directories are left");
  await assert.rejects(v.remove("data1", []), { code: "NOT_FOUND" });
  assert.throws(() => v.dataPath("../escape"), { code: "INVALID_ARGUMENT" });
  await assert.rejects(v.ensure("a/b"), { code: "INVALID_ARGUMENT" });
});
