import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { tarOf } from "../testing/layer-tar.js";
import { LayerError } from "./error.js";
import { INLINE_BODY_LIMIT, readTar } from "./tar-reader.js";

/** Splits `b` into chunks of `size` bytes, to exercise reassembly across chunk boundaries. */
function chunked(b: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) parts.push(b.subarray(i, i + size));
  return Readable.from(parts);
}

describe("readTar", () => {
  const big = Buffer.alloc(INLINE_BODY_LIMIT + 12345, 7);
  const tar = tarOf([
    { name: "small", body: "hello" },
    { name: "big", body: big },
    { name: "after", body: "tail" },
  ]);

  it("delivers small bodies whole and large ones in chunks, whatever the input chunking", async () => {
    for (const size of [100, 511, 512, 4096, 1 << 20]) {
      const seen: string[] = [];
      for await (const e of readTar(chunked(tar, size))) {
        if (e.data) seen.push(`${e.header.name}=${e.data.toString()}`);
        else if (e.chunks) {
          let n = 0;
          for await (const c of e.chunks) n += c.filter((x) => x === 7).length;
          seen.push(`${e.header.name}:${n}`);
        }
      }
      assert.deepEqual(seen, ["small=hello", `big:${big.length}`, "after=tail"], `chunk size ${size}`);
    }
  });

  it("skips a large body the consumer did not read", async () => {
    const names: string[] = [];
    for await (const e of readTar(chunked(tar, 1000))) names.push(e.header.name);
    assert.deepEqual(names, ["small", "big", "after"]);
  });

  it("reads to the end of the input so that an upstream digest sees every byte", async () => {
    let consumed = 0;
    const padded = Buffer.concat([tar, Buffer.alloc(10240)]);
    const counting = Readable.from(
      (async function* () {
        for (let i = 0; i < padded.length; i += 4096) {
          const part = padded.subarray(i, i + 4096);
          consumed += part.length;
          yield part;
        }
      })(),
    );
    for await (const _ of readTar(counting)) {
      // entries only
    }
    assert.equal(consumed, padded.length);
  });

  it("refuses a body cut short", async () => {
    await assert.rejects(
      (async () => {
        for await (const _ of readTar(chunked(tar.subarray(0, 2000), 300))) {
          // drain
        }
      })(),
      (e: unknown) => e instanceof LayerError && e.code === "INVALID_TAR" && /truncated/.test(e.message),
    );
  });

  it("accepts a stream that ends inside the last entry's padding (umoci 0.4.7 writes such layers), as Go does", async () => {
    // header + 4-byte body with no padding and no end-of-archive blocks.
    const cut = tarOf([{ name: "last", body: "tail" }]).subarray(0, 512 + 4);
    const seen: string[] = [];
    for await (const e of readTar(chunked(cut, 100))) seen.push(`${e.header.name}=${e.data?.toString()}`);
    assert.deepEqual(seen, ["last=tail"]);
  });
});
