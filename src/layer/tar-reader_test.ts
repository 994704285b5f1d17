import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { rawEntry, tarOf } from "../testing/layer-tar.js";
import { LayerError } from "./error.js";
import { INLINE_BODY_LIMIT, MAX_ENTRY_META, readTar } from "./tar-reader.js";

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

  describe("hostile extended headers", () => {
    /** A PAX header body of about `bytes` bytes: distinct unknown keys. */
    function records(bytes: number, prefix: string): [string, string][] {
      const out: [string, string][] = [];
      for (let i = 0, n = 0; n < bytes; i++) {
        const r: [string, string] = [`${prefix}.${i}`, "v".repeat(40)];
        out.push(r);
        n += r[0].length + r[1].length + 5; // "NN k=v\n"
      }
      return out;
    }

    /** Counts what `readTar` pulled from a lazily generated stream of `parts`, `times` times over. */
    async function consume(
      parts: () => Iterable<Buffer>,
    ): Promise<{ consumed: number; error?: unknown; entries: number }> {
      let consumed = 0;
      let entries = 0;
      const source = (async function* () {
        for (const p of parts()) {
          consumed += p.length;
          yield p;
        }
      })();
      try {
        for await (const _ of readTar(source)) entries++;
        return { consumed, entries };
      } catch (error) {
        return { consumed, entries, error };
      }
    }

    it("refuses 300 consecutive 1 MiB PAX headers after reading about 1 MiB of them", async () => {
      const header = rawEntry("x", "PaxHeaders/f", records((1 << 20) - 1024, "k"));
      const r = await consume(function* () {
        for (let i = 0; i < 300; i++) yield header;
        yield tarOf([{ name: "f", body: "x" }]);
      });
      assert.ok(r.error instanceof LayerError && r.error.code === "INVALID_TAR", String(r.error));
      assert.match(
        (r.error as Error).message,
        new RegExp(`more than ${MAX_ENTRY_META} bytes of extended headers`),
      );
      assert.ok(r.consumed < 3 * header.length, `read ${r.consumed} bytes before refusing`);
    });

    it("refuses thousands of tiny PAX headers in front of one entry (the count is bounded too)", async () => {
      const tiny = rawEntry("x", "PaxHeaders/f", [["comment", "x"]]);
      const r = await consume(function* () {
        for (let i = 0; i < 100_000; i++) yield tiny;
        yield tarOf([{ name: "f", body: "x" }]);
      });
      assert.ok(r.error instanceof LayerError && r.error.code === "INVALID_TAR", String(r.error));
      assert.ok(r.consumed < (MAX_ENTRY_META * 3) / 2, `read ${r.consumed} bytes before refusing`);
    });

    it("refuses one PAX header larger than the bound", async () => {
      const r = await consume(function* () {
        yield rawEntry("x", "PaxHeaders/f", records(MAX_ENTRY_META + 100_000, "k"));
        yield tarOf([{ name: "f", body: "x" }]);
      });
      assert.ok(r.error instanceof LayerError && r.error.code === "INVALID_TAR", String(r.error));
    });

    it("merges consecutive PAX headers, the later record winning", async () => {
      const tar = Buffer.concat([
        rawEntry("x", "PaxHeaders/a", [
          ["path", "first"],
          ["uid", "7"],
        ]),
        rawEntry("x", "PaxHeaders/b", [["path", "second"]]),
        tarOf([{ name: "short", body: "x" }]),
      ]);
      const seen = [];
      for await (const e of readTar(chunked(tar, 512))) seen.push([e.header.name, e.header.uid]);
      assert.deepEqual(seen, [["second", 7]]);
    });

    it("reads one near-1 MiB global header and 20,000 entries in linear time", async () => {
      const global = rawEntry("g", "GlobalHead.0", [["uid", "42"], ...records((1 << 20) - 4096, "k")]);
      const files = tarOf(Array.from({ length: 20_000 }, (_, i) => ({ name: `d/f${i}`, body: "x" })));
      const t0 = process.hrtime.bigint();
      let uid42 = 0;
      for await (const e of readTar(chunked(Buffer.concat([global, files]), 1 << 16)))
        if (e.header.uid === 42) uid42++;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      assert.equal(uid42, 20_000, "the global uid applies to every entry");
      // The quadratic version took minutes; linear is well under a second on this machine.
      assert.ok(ms < 5000, `took ${ms} ms`);
    });

    it("refuses extended attributes set by a global header (they would be copied to every file)", async () => {
      const tar = Buffer.concat([
        rawEntry("g", "GlobalHead.0", [["SCHILY.xattr.user.big", "v".repeat(60_000)]]),
        tarOf([{ name: "f", body: "x" }]),
      ]);
      const r = await consume(() => [tar]);
      assert.ok(r.error instanceof LayerError && r.error.code === "UNSUPPORTED_ENTRY", String(r.error));
      assert.match((r.error as Error).message, /SCHILY\.xattr\.user\.big/);
    });
  });
});
