/**
 * SPDY/3 framing and header compression without a network: frames split at any chunk boundary,
 * bounds refused with a protocol error, header blocks both ways, pier's stored-block header
 * compression inflated by zlib (as any peer would) and zlib's sync-flushed blocks (as
 * spdystream sends them) inflated by pier, a header block that inflates past the bound refused.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { constants, createDeflate, inflateSync } from "node:zlib";
import {
  ControlType,
  controlFrame,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  FrameSplitter,
  MAX_CONTROL_FRAME,
  MAX_DATA_FRAME,
  parseSynStream,
  SpdyProtocolError,
} from "./spdy-frames.js";
import { HeaderCompressor, HeaderDecompressor, MAX_HEADER_BLOCK, SPDY_DICTIONARY } from "./spdy-zlib.js";

/** A zlib stream as spdystream keeps one: each block sync-flushed. */
function peerCompressor(): (block: Buffer) => Promise<Buffer> {
  const z = createDeflate({ dictionary: SPDY_DICTIONARY });
  const out: Buffer[] = [];
  z.on("data", (d: Buffer) => out.push(d));
  return (block) =>
    new Promise((resolve) => {
      z.write(block);
      z.flush(constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(out.splice(0))));
    });
}

describe("SPDY frames", () => {
  it("splits frames at any chunk boundary", () => {
    const bytes = Buffer.concat([
      dataFrame(1, Buffer.from("hello"), true),
      controlFrame(ControlType.PING, 0, Buffer.from([0, 0, 0, 1])),
      dataFrame(3, Buffer.alloc(0)),
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const s = new FrameSplitter();
      const frames = [...s.push(bytes.subarray(0, cut)), ...s.push(bytes.subarray(cut))];
      assert.equal(frames.length, 3, `cut at ${cut}`);
      assert.deepEqual(frames[0], { control: false, streamId: 1, flags: 1, data: Buffer.from("hello") });
      assert.deepEqual(frames[1], {
        control: true,
        version: 3,
        type: 6,
        flags: 0,
        payload: Buffer.from([0, 0, 0, 1]),
      });
      assert.equal(frames[2]!.control, false);
    }
  });

  it("refuses frames past the bounds as soon as their header says so", () => {
    const big = Buffer.alloc(8);
    big.writeUInt32BE(1, 0);
    big.writeUIntBE(MAX_DATA_FRAME + 1, 5, 3);
    assert.throws(() => new FrameSplitter().push(big), SpdyProtocolError);
    const ctl = controlFrame(ControlType.SETTINGS, 0, Buffer.alloc(0));
    ctl.writeUIntBE(MAX_CONTROL_FRAME + 1, 5, 3);
    assert.throws(() => new FrameSplitter().push(ctl.subarray(0, 8)), /control frame of 65537 bytes/);
    assert.throws(() => parseSynStream(Buffer.alloc(4)), /SYN_STREAM frame of 4 bytes is too short/);
  });

  it("encodes and decodes header blocks, refusing malformed ones", () => {
    const block = encodeHeaderBlock([
      ["streamType", "data"],
      ["port", "8080"],
    ]);
    const h = decodeHeaderBlock(block);
    assert.deepEqual(
      [...h],
      [
        ["streamtype", ["data"]],
        ["port", ["8080"]],
      ],
    );
    assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock([["x", "a\0b"]])).get("x"), ["a", "b"]);
    assert.throws(() => decodeHeaderBlock(block.subarray(0, block.length - 1)), /truncated/);
    assert.throws(() => decodeHeaderBlock(Buffer.concat([block, Buffer.from([0])])), /after the last pair/);
    const many = Buffer.alloc(4);
    many.writeUInt32BE(1 << 30);
    assert.throws(() => decodeHeaderBlock(many), /pairs \(at most 64\)/);
    assert.throws(
      () =>
        decodeHeaderBlock(
          encodeHeaderBlock([
            ["a", "1"],
            ["A", "2"],
          ]),
        ),
      /duplicate header a/,
    );
  });
});

describe("SPDY header compression", () => {
  it("writes blocks that zlib inflates with SPDY's dictionary, one stream across frames", () => {
    const c = new HeaderCompressor();
    const blocks = [encodeHeaderBlock([]), encodeHeaderBlock([["status", "200"]]), Buffer.alloc(70000, 7)];
    const stream = Buffer.concat(blocks.map((b) => c.compress(b)));
    assert.deepEqual(
      inflateSync(stream, { dictionary: SPDY_DICTIONARY, finishFlush: constants.Z_SYNC_FLUSH }),
      Buffer.concat(blocks),
    );
  });

  it("inflates a peer's sync-flushed blocks in order", async () => {
    const compress = peerCompressor();
    const d = new HeaderDecompressor();
    const a = encodeHeaderBlock([["streamtype", "error"]]);
    const b = encodeHeaderBlock([["streamtype", "stdout"]]);
    assert.deepEqual(await d.decompress(await compress(a)), a);
    assert.deepEqual(await d.decompress(await compress(b)), b);
    d.close();
  });

  it("refuses a block that inflates past its bound, and garbage", async () => {
    const compress = peerCompressor();
    const d = new HeaderDecompressor();
    const bomb = await compress(Buffer.alloc(MAX_HEADER_BLOCK * 16));
    assert.ok(bomb.length < 4096);
    await assert.rejects(d.decompress(bomb), /inflates past 65536 bytes/);
    // Once failed, the session's zlib stream is unusable: every later block fails too.
    await assert.rejects(d.decompress(await compress(Buffer.from("x"))), SpdyProtocolError);
    const g = new HeaderDecompressor();
    await assert.rejects(g.decompress(Buffer.from("not zlib at all")), /invalid compressed header block/);
  });
});
