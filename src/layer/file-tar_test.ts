import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { compress as zstdCompress } from "zstd-napi";
import type { Compression } from "../oci/media-types.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { LayerError } from "./error.js";
import { CHUNK_BYTES, fileTar } from "./file-tar.js";

const code = (want: string, text?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof LayerError, String(e));
  assert.equal(e.code, want);
  if (text) assert.match(e.message, text);
  return true;
};

describe("fileTar", () => {
  let dir: string;
  let n = 0;
  const file = (bytes: Buffer) => {
    const path = join(dir, `f${n++}`);
    writeFileSync(path, bytes);
    return path;
  };
  const read = async (path: string, c: Compression) => {
    const chunks: Buffer[] = [];
    for await (const chunk of fileTar(path, c)) chunks.push(chunk);
    return { chunks, all: Buffer.concat(chunks) };
  };
  before(async () => {
    dir = await makeTempDir("pier-file-tar-");
  });
  after(() => removeTempDir(dir));

  const a = Buffer.from("first frame, ".repeat(100_000));
  const b = Buffer.from("second frame. ".repeat(300_000));
  const ab = Buffer.concat([a, b]);

  it("decodes concatenated zstd frames and gzip members, in whole chunks that own their memory", async () => {
    for (const [c, bytes] of [
      ["zstd", Buffer.concat([zstdCompress(a), zstdCompress(b)])],
      ["gzip", Buffer.concat([gzipSync(a), gzipSync(b)])],
      ["none", ab],
    ] as const) {
      const { chunks, all } = await read(file(bytes), c);
      assert.ok(all.equals(ab), c);
      for (const [i, chunk] of chunks.entries()) {
        if (i < chunks.length - 1) assert.equal(chunk.length, CHUNK_BYTES, `${c}: chunk ${i} is whole`);
        assert.equal(chunk.byteOffset, 0, `${c}: chunk ${i} starts its buffer`);
        assert.equal(chunk.buffer.byteLength, CHUNK_BYTES, `${c}: chunk ${i} has a buffer of its own`);
      }
    }
  });

  it("holds one chunk however much a small input expands", async () => {
    // 256 MiB of zeros compress to a few KiB: the output still comes one chunk at a time.
    const zeros = zstdCompress(Buffer.alloc(256 << 20));
    assert.ok(zeros.length < 64 << 10);
    let count = 0;
    const before = process.memoryUsage().arrayBuffers;
    let peak = before;
    for await (const chunk of fileTar(file(zeros), "zstd")) {
      count += chunk.length;
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    }
    assert.equal(count, 256 << 20);
    assert.ok(peak - before < 64 << 20, `${(peak - before) >> 20} MiB of buffers held at once`);
  });

  it("fails with CORRUPT_STREAM on a stream cut short or damaged, and checks the magic bytes", async () => {
    const zs = zstdCompress(b);
    await assert.rejects(read(file(zs.subarray(0, zs.length - 20)), "zstd"), code("CORRUPT_STREAM", /zstd/));
    const bad = Buffer.from(zs);
    bad.fill(0xff, 8, 30);
    await assert.rejects(read(file(bad), "zstd"), code("CORRUPT_STREAM"));
    const gz = gzipSync(b);
    await assert.rejects(read(file(gz.subarray(0, gz.length - 20)), "gzip"), code("CORRUPT_STREAM", /gzip/));
    await assert.rejects(
      read(file(gz), "zstd"),
      code("COMPRESSION_MISMATCH", /declared as zstd but the stream is gzip/),
    );
    await assert.rejects(read(file(zs), "none"), code("COMPRESSION_MISMATCH"));
    await assert.rejects(read(file(ab), "zstd"), code("COMPRESSION_MISMATCH", /not compressed/));
    await assert.rejects(read(file(Buffer.alloc(0)), "zstd"), code("CORRUPT_STREAM", /empty/));
  });
});
