/**
 * Receiving an archive while unpacking it (`receiveAndUnpack`): a podman-layout archive that
 * arrives in small pieces over time is unpacked whole, compressed or not (the worker opens the
 * FIFO after the last byte arrived, or before the first); an archive over the size bound, a
 * truncated one, an empty one and a source that fails are refused naming the problem, and none
 * of them hangs.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { receiveAndUnpack } from "./archive.js";

/** `bytes` in pieces of `size`, one every `everyMs`, then (optionally) an error. */
function trickle(bytes: Buffer, size: number, everyMs: number, fail?: Error): Readable {
  let at = 0;
  return new Readable({
    read() {
      setTimeout(() => {
        if (at >= bytes.length) {
          if (fail) this.destroy(fail);
          else this.push(null);
          return;
        }
        this.push(bytes.subarray(at, at + size));
        at += size;
      }, everyMs);
    },
  });
}

describe("receiveAndUnpack", () => {
  let dir = "";
  let tar: Buffer;
  let zst: Buffer;
  let n = 0;
  const fresh = () => {
    const d = join(dir, `case-${n++}`);
    mkdirSync(join(d, "x"), { recursive: true });
    return { x: join(d, "x"), fifo: join(d, "fifo") };
  };
  before(async () => {
    dir = await makeTempDir("pier-ckpt-archive-");
    const src = join(dir, "src");
    mkdirSync(join(src, "checkpoint"), { recursive: true });
    writeFileSync(join(src, "checkpoint", "pages-1.img"), Buffer.alloc(300_000, 7));
    writeFileSync(join(src, "config.dump"), '{"id":"x"}');
    execFileSync("tar", ["-C", src, "-cf", join(dir, "a.tar"), "config.dump", "checkpoint"]);
    execFileSync("zstd", ["-q", "-f", join(dir, "a.tar"), "-o", join(dir, "a.tar.zst")]);
    tar = readFileSync(join(dir, "a.tar"));
    zst = readFileSync(join(dir, "a.tar.zst"));
  });
  after(() => removeTempDir(dir));

  for (const [what, bytes] of [
    ["plain", () => tar],
    ["zstd", () => zst],
  ] as const) {
    it(`unpacks a ${what} archive arriving in pieces, or all at once`, async () => {
      for (const source of [trickle(bytes(), 8192, 2), Readable.from([bytes()])]) {
        const { x, fifo } = fresh();
        const got = await receiveAndUnpack(source, x, fifo, 1 << 30);
        assert.equal(got, bytes().length);
        assert.deepEqual(readFileSync(join(x, "checkpoint", "pages-1.img")), Buffer.alloc(300_000, 7));
        assert.equal(readFileSync(join(x, "config.dump"), "utf8"), '{"id":"x"}');
      }
    });
  }

  it("refuses an archive over the bound, a truncated one, an empty one and a failing source", async () => {
    let c = fresh();
    await assert.rejects(receiveAndUnpack(trickle(tar, 8192, 1), c.x, c.fifo, 100_000), {
      message: /checkpoint archive larger than 100000 bytes: refused/,
    });
    c = fresh();
    await assert.rejects(
      receiveAndUnpack(Readable.from([zst.subarray(0, zst.length >> 1)]), c.x, c.fifo, 1 << 30),
      { code: "INVALID_ARGUMENT", message: /invalid checkpoint archive: / },
    );
    c = fresh();
    await assert.rejects(receiveAndUnpack(Readable.from([]), c.x, c.fifo, 1 << 30), {
      message: /invalid checkpoint archive: it is empty/,
    });
    c = fresh();
    await assert.rejects(
      receiveAndUnpack(
        trickle(tar.subarray(0, 20_000), 4096, 1, new Error("client went away")),
        c.x,
        c.fifo,
        1 << 30,
      ),
      { message: /client went away/ },
    );
    // Not a checkpoint: a tar without checkpoint/.
    c = fresh();
    const other = join(dir, "other");
    mkdirSync(other);
    writeFileSync(join(other, "f"), "x");
    const otherTar = execFileSync("tar", ["-C", other, "-cf", "-", "f"]);
    await assert.rejects(receiveAndUnpack(Readable.from([otherTar]), c.x, c.fifo, 1 << 30), {
      message: /no checkpoint\/ directory/,
    });
  });
});
