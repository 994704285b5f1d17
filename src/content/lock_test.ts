import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isPierError } from "../errors.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { FileLock, isStaleOwner, withLock } from "./lock.js";

describe("FileLock", () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir("pier-lock-");
  });
  after(async () => {
    await removeTempDir(dir);
  });

  test("isStaleOwner: dead pid or recycled pid is stale; other hosts never", () => {
    const owner = { pid: 42, start: "1000", host: hostname(), token: "t" };
    assert.equal(
      isStaleOwner(owner, () => undefined),
      true,
    );
    assert.equal(
      isStaleOwner(owner, () => "1000"),
      false,
    );
    assert.equal(
      isStaleOwner(owner, () => "2000"),
      true,
      "same pid, another process",
    );
    assert.equal(
      isStaleOwner({ ...owner, host: "elsewhere" }, () => undefined),
      false,
    );
  });

  test("one holder at a time; release lets the next one in; release is idempotent", async () => {
    const path = join(dir, "a.lock");
    const first = await FileLock.tryAcquire(path);
    assert.ok(first);
    assert.equal(await FileLock.tryAcquire(path), undefined);
    await assert.rejects(FileLock.acquire(path, { timeoutMs: 50 }), (e: unknown) => {
      assert.ok(isPierError(e, "LOCKED"));
      assert.match(e.message, new RegExp(`"pid":${process.pid}`), "names the holder");
      return true;
    });
    await first.release();
    await first.release();
    const second = await FileLock.tryAcquire(path);
    assert.ok(second);
    await second.release();
  });

  test("the lock of a process killed with SIGKILL is broken; garbage lock files age out", async () => {
    const path = join(dir, "dead.lock");
    const lockModule = new URL("./lock.js", import.meta.url).href;
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { FileLock } from ${JSON.stringify(lockModule)};
         await FileLock.acquire(${JSON.stringify(path)}); process.stdout.write("held\\n"); await new Promise(() => {});`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
    assert.match(await readFile(path, "utf8"), new RegExp(`"pid":${child.pid}`));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const taken = await FileLock.acquire(path, { timeoutMs: 2000 });
    assert.match(await readFile(path, "utf8"), new RegExp(`"pid":${process.pid}`));
    await taken.release();
    // An unparsable lock file is respected until it is old.
    await writeFile(path, "garbage");
    assert.equal(await FileLock.tryAcquire(path), undefined);
  });

  test("the lock of a dead but unreaped owner (a zombie) is broken at once", async () => {
    const path = join(dir, "zombie.lock");
    const lockModule = new URL("./lock.js", import.meta.url).href;
    const holder = `import { FileLock } from ${JSON.stringify(lockModule)};
      await FileLock.acquire(${JSON.stringify(path)}); process.stdout.write("held\\n"); await new Promise(() => {});`;
    // The shell starts the holder in the background and becomes `sleep`, which never reaps it:
    // once killed, the holder stays a zombie for as long as `sleep` lives.
    const parent = spawn(
      "sh",
      ["-c", `"$0" --input-type=module -e "$1" & exec sleep 60`, process.execPath, holder],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await new Promise<void>((resolve) => parent.stdout!.once("data", () => resolve()));
      const owner = JSON.parse(await readFile(path, "utf8")) as { pid: number };
      process.kill(owner.pid, "SIGKILL");
      let state = "";
      for (let i = 0; i < 100 && state !== "Z"; i++) {
        await new Promise((r) => setTimeout(r, 10));
        const stat = await readFile(`/proc/${owner.pid}/stat`, "utf8");
        state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]!;
      }
      assert.equal(state, "Z", "the killed holder is a zombie (the attack's precondition)");
      const started = Date.now();
      const taken = await FileLock.tryAcquire(path);
      assert.ok(taken, "a zombie owner holds nothing");
      assert.ok(Date.now() - started < 500);
      await taken.release();
    } finally {
      parent.kill("SIGKILL");
      await new Promise((r) => parent.once("exit", r));
    }
  });

  test("withLock serialises critical sections and releases on failure", async () => {
    const path = join(dir, "w.lock");
    let inside = 0;
    let maxInside = 0;
    const section = async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await new Promise((r) => setTimeout(r, 5));
      inside--;
    };
    await Promise.all(Array.from({ length: 8 }, () => withLock(path, section)));
    assert.equal(maxInside, 1);
    await assert.rejects(
      withLock(path, async () => {
        throw new Error("boom");
      }),
      /boom/,
    );
    const again = await FileLock.tryAcquire(path);
    assert.ok(again, "released after the failure");
    await again.release();
  });
});
