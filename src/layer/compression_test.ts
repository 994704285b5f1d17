import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { pipeline } from "node:stream/promises";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { MediaType } from "../oci/media-types.js";
import { compressionForMediaType, compressor, decompress, sniffCompression } from "./compression.js";
import { LayerError } from "./error.js";

const data = Buffer.from("layer bytes, moderately compressible. ".repeat(5000));

async function roundTrip(
  c: "none" | "gzip" | "zstd",
  level?: number,
): Promise<{ packed: Buffer; back: Buffer }> {
  const comp = compressor(c, level === undefined ? {} : { level });
  const chunks: Buffer[] = [];
  await pipeline(Readable.from([data]), comp, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) chunks.push(chunk);
  });
  const packed = Buffer.concat(chunks);
  const back = await buffer(decompress(Readable.from([packed]), c));
  return { packed, back };
}

describe("compression", () => {
  it("sniffs magic bytes", () => {
    assert.equal(sniffCompression(Buffer.from([0x1f, 0x8b, 8, 0])), "gzip");
    assert.equal(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), "zstd");
    assert.equal(sniffCompression(Buffer.from("usr/")), "none");
    assert.equal(sniffCompression(Buffer.from([0x28])), undefined);
  });

  it("maps media types and refuses non-layers", () => {
    assert.equal(compressionForMediaType(MediaType.DockerLayerGzip), "gzip");
    assert.equal(compressionForMediaType(MediaType.OciLayerZstd), "zstd");
    assert.throws(
      () => compressionForMediaType(MediaType.OciConfig),
      (e: unknown) => e instanceof LayerError && e.code === "UNSUPPORTED_COMPRESSION",
    );
  });

  it("round-trips gzip, zstd and none, and levels matter", async () => {
    for (const c of ["none", "gzip", "zstd"] as const) {
      const { packed, back } = await roundTrip(c);
      assert.deepEqual(back, data, c);
      if (c !== "none") assert.ok(packed.length < data.length / 10, c);
    }
    const fast = await roundTrip("gzip", 1);
    const best = await roundTrip("gzip", 9);
    assert.ok(best.packed.length <= fast.packed.length);
    assert.throws(
      () => compressor("gzip", { level: 12 }),
      (e: unknown) => e instanceof LayerError,
    );
  });

  it("produces streams the system gzip and zstd tools read", async () => {
    for (const tool of ["/usr/bin/gzip", "/usr/bin/zstd"])
      if (!existsSync(tool)) throw new Error(`${tool} missing`);
    const gz = (await roundTrip("gzip")).packed;
    assert.deepEqual(execFileSync("gzip", ["-dc"], { input: gz, maxBuffer: 1 << 26 }), data);
    const zs = (await roundTrip("zstd")).packed;
    assert.deepEqual(execFileSync("zstd", ["-dc"], { input: zs, maxBuffer: 1 << 26 }), data);
    const fromTool = execFileSync("zstd", ["-c", "-3"], { input: data, maxBuffer: 1 << 26 });
    assert.deepEqual(await buffer(decompress(Readable.from([fromTool]), "zstd")), data);
  });

  it("fails clearly on mismatch, truncation and empty input", async () => {
    const gz = gzipSync(data);
    const fail = (input: Buffer, c: "none" | "gzip" | "zstd", code: string) =>
      assert.rejects(
        buffer(decompress(Readable.from([input]), c)),
        (e: unknown) => e instanceof LayerError && e.code === code,
      );
    await fail(gz, "zstd", "COMPRESSION_MISMATCH");
    await fail(data, "gzip", "COMPRESSION_MISMATCH");
    await fail(gz.subarray(0, gz.length - 100), "gzip", "CORRUPT_STREAM");
    const zs = (await roundTrip("zstd")).packed;
    await fail(zs.subarray(0, zs.length - 50), "zstd", "CORRUPT_STREAM");
    await fail(Buffer.alloc(0), "gzip", "CORRUPT_STREAM");
  });
});
