import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { compress as zstdCompress } from "zstd-napi";
import { digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { tarOf } from "../testing/layer-tar.js";
import { applyLayerFile } from "./apply-thread.js";
import { decompressFileInThread, WINDOW_CHUNKS } from "./decompress-thread.js";
import { LayerError } from "./error.js";
import { CHUNK_BYTES } from "./file-tar.js";

/** Waits for `cond` to hold, failing after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("decompressFileInThread", () => {
  let dir: string;
  /** 24 MiB, half random (so the compressed files are large too), more than the window. */
  const big = Buffer.concat([randomBytes(12 << 20), Buffer.alloc(12 << 20, "layer ")]);
  const files: Record<"none" | "gzip" | "zstd", string> = { none: "", gzip: "", zstd: "" };
  before(async () => {
    dir = await makeTempDir("pier-decompress-thread-");
    files.none = join(dir, "big.tar");
    files.gzip = join(dir, "big.tar.gz");
    files.zstd = join(dir, "big.tar.zst");
    writeFileSync(files.none, big);
    writeFileSync(files.gzip, gzipSync(big, { level: 1 }));
    writeFileSync(files.zstd, zstdCompress(big));
  });
  after(() => removeTempDir(dir));

  it("gives the uncompressed bytes in full chunks", async () => {
    for (const c of ["none", "gzip", "zstd"] as const) {
      const tar = decompressFileInThread(files[c], c);
      const chunks: Buffer[] = [];
      for await (const chunk of tar) chunks.push(chunk);
      assert.ok(
        chunks.slice(0, -1).every((b) => b.length === CHUNK_BYTES),
        `${c}: every chunk but the last is full`,
      );
      assert.ok(Buffer.concat(chunks).equals(big), c);
    }
  });

  it("runs at most WINDOW_CHUNKS ahead of its reader", async () => {
    const tar = decompressFileInThread(files.gzip, "gzip");
    const it = tar[Symbol.asyncIterator]();
    try {
      assert.equal((await it.next()).done, false);
      // It runs ahead while nobody reads ...
      await until(() => tar.buffered === WINDOW_CHUNKS, 20_000, "the window to fill");
      // ... and stops there: waiting longer does not make it read more.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(tar.buffered, WINDOW_CHUNKS);
      let n = 1;
      while (!(await it.next()).done) n++;
      assert.equal(n, big.length / CHUNK_BYTES);
    } finally {
      tar.close();
    }
  });

  it("fails with the decompressor's error codes and names a missing file", async () => {
    const drain = async (path: string, c: "gzip" | "zstd" | "none") => {
      for await (const _ of decompressFileInThread(path, c));
    };
    const code = (want: string, text?: RegExp) => (e: unknown) => {
      assert.ok(e instanceof LayerError, String(e));
      assert.equal(e.code, want);
      if (text) assert.match(e.message, text);
      return true;
    };
    await assert.rejects(drain(files.gzip, "zstd"), code("COMPRESSION_MISMATCH", /declared as zstd/));
    await assert.rejects(drain(files.zstd, "none"), code("COMPRESSION_MISMATCH"));
    const truncated = join(dir, "truncated.tar.zst");
    writeFileSync(truncated, zstdCompress(big).subarray(0, 200_000));
    await assert.rejects(drain(truncated, "zstd"), code("CORRUPT_STREAM"));
    const badGzip = join(dir, "bad.tar.gz");
    const gz = gzipSync(big, { level: 1 });
    gz.fill(0x55, 5000, 6000);
    writeFileSync(badGzip, gz);
    await assert.rejects(drain(badGzip, "gzip"), code("CORRUPT_STREAM"));
    await assert.rejects(drain(join(dir, "missing.tar"), "none"), code("APPLY_FAILED", /missing\.tar/));
  });

  it("carries applyLayerFile: its diff_id is checked, hostile entries still refused", async () => {
    const tar = tarOf([
      { name: "etc", type: "dir" },
      { name: "etc/big", body: big.subarray(0, 5 << 20) },
      { name: "etc/small", body: "x" },
    ]);
    const layer = join(dir, "layer.tar.zst");
    writeFileSync(layer, zstdCompress(tar));
    const ok = join(dir, "ok");
    mkdirSync(ok);
    const stats = await applyLayerFile(ok, layer, {
      mediaType: MediaType.OciLayerZstd,
      expectedDiffId: digestOf(tar),
    });
    assert.equal(stats.diffId, digestOf(tar));
    assert.equal(stats.tarBytes, tar.length);
    assert.equal(stats.files, 2);
    const wrong = join(dir, "wrong");
    mkdirSync(wrong);
    await assert.rejects(
      applyLayerFile(wrong, layer, { mediaType: MediaType.OciLayerZstd, expectedDiffId: digestOf("other") }),
      (e: unknown) => e instanceof LayerError && e.code === "DIFF_ID_MISMATCH",
    );
    const escaping = join(dir, "escape.tar.gz");
    writeFileSync(escaping, gzipSync(tarOf([{ name: "a/../../../x", body: "x" }])));
    const dest = join(dir, "escape");
    mkdirSync(dest);
    await assert.rejects(
      applyLayerFile(dest, escaping, { mediaType: MediaType.OciLayerGzip }),
      (e: unknown) => e instanceof LayerError && e.code === "PATH_ESCAPE",
    );
  });
});
