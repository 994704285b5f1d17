import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { linkSync } from "node:fs";
import { chmod, lstat, mkdir, readFile, readlink, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { copyFilesOnThread, linkFilesOnThread } from "./copy-thread.js";
import { BuildError } from "./error.js";

let dir: string;
before(async () => {
  dir = await makeTempDir("pier-copy-thread-");
});
after(async () => {
  await removeTempDir(dir);
});

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");
let n = 0;
async function dirs(): Promise<{ from: string; to: string }> {
  n++;
  const from = join(dir, `from-${n}`);
  const to = join(dir, `to-${n}`);
  await mkdir(from);
  await mkdir(to);
  return { from, to };
}

describe("the COPY worker", () => {
  it("copies bytes, owner, mode (setuid, bits the umask would clear) and times; checks the expected digest", async () => {
    const d = await dirs();
    const big = Buffer.alloc(3 << 20, 7); // more than one read
    await writeFile(join(d.from, "big"), big);
    await writeFile(join(d.from, "suid"), "x", { mode: 0o4755 });
    await writeFile(join(d.from, "open"), "y");
    await chmod(join(d.from, "open"), 0o666);
    await chmod(join(d.from, "suid"), 0o4755);
    await utimes(join(d.from, "big"), new Date(1_000_000), new Date(2_000_000));
    await symlink("big", join(d.from, "link"));
    await copyFilesOnThread({
      entries: [
        { from: join(d.from, "big"), to: join(d.to, "big"), kind: "file", expect: sha(big) },
        { from: join(d.from, "suid"), to: join(d.to, "suid"), kind: "file" },
        { from: join(d.from, "open"), to: join(d.to, "open"), kind: "file" },
        { from: join(d.from, "link"), to: join(d.to, "link"), kind: "symlink" },
      ],
      uid: 1000,
      gid: 1001,
    });
    assert.deepEqual(await readFile(join(d.to, "big")), big);
    const st = await lstat(join(d.to, "big"));
    assert.equal(st.mtimeMs, 2_000_000);
    assert.equal(st.uid, 1000);
    assert.equal(st.gid, 1001);
    assert.equal((await lstat(join(d.to, "suid"))).mode & 0o7777, 0o4755);
    assert.equal((await lstat(join(d.to, "open"))).mode & 0o7777, 0o666);
    assert.equal(await readlink(join(d.to, "link")), "big");
    assert.equal((await lstat(join(d.to, "link"))).uid, 1000);
  });

  it("fails a file whose bytes are not what the key hashed, and forgets the hash cache", async () => {
    const d = await dirs();
    await writeFile(join(d.from, "f"), "changed after hashing");
    const cache = join(dir, `cache-${n}.json`);
    await writeFile(cache, "{}");
    await assert.rejects(
      copyFilesOnThread({
        entries: [{ from: join(d.from, "f"), to: join(d.to, "f"), kind: "file", expect: sha("original") }],
        hashCache: cache,
      }),
      (e: unknown) =>
        e instanceof BuildError &&
        e.code === "CONTEXT_PATH" &&
        /changed while the build copied it/.test(e.message),
    );
    await assert.rejects(lstat(cache), { code: "ENOENT" });
  });

  it("never reads through a source swapped for a symlink, nor writes through a destination symlink", async () => {
    const d = await dirs();
    await symlink("/etc/passwd", join(d.from, "swapped"));
    await assert.rejects(
      copyFilesOnThread({
        entries: [{ from: join(d.from, "swapped"), to: join(d.to, "out"), kind: "file" }],
      }),
      (e: unknown) => e instanceof BuildError && e.code === "CONTEXT_PATH" && /now a symlink/.test(e.message),
    );
    await assert.rejects(lstat(join(d.to, "out")), { code: "ENOENT" });
    // A destination that is a symlink (an image's) is replaced, its target untouched.
    const victim = join(dir, `victim-${n}`);
    await writeFile(victim, "keep");
    await symlink(victim, join(d.to, "dest"));
    await writeFile(join(d.from, "f"), "new");
    await copyFilesOnThread({ entries: [{ from: join(d.from, "f"), to: join(d.to, "dest"), kind: "file" }] });
    assert.equal(await readFile(victim, "utf8"), "keep");
    assert.equal(await readFile(join(d.to, "dest"), "utf8"), "new");
    assert.equal((await lstat(join(d.to, "dest"))).isFile(), true);
  });

  it("copies instead of linking a file that cannot take another name (EMLINK)", async (t) => {
    const d = await dirs();
    const src = join(d.from, "many");
    await writeFile(src, "shared");
    await mkdir(join(d.from, "names"));
    // Fill the inode's link count up to the file system's limit (ext4: 65,000).
    let full = false;
    for (let i = 0; i < 70_000 && !full; i++)
      try {
        linkSync(src, join(d.from, "names", String(i)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EMLINK") throw err;
        full = true;
      }
    if (!full) {
      t.skip("this file system has no link limit under 70,000");
      return;
    }
    await linkFilesOnThread([{ from: src, to: join(d.to, "copy") }]);
    assert.equal(await readFile(join(d.to, "copy"), "utf8"), "shared");
    assert.notEqual((await lstat(join(d.to, "copy"))).ino, (await lstat(src)).ino);
    await rm(join(d.from, "names"), { recursive: true, force: true });
  });
});
