/**
 * pier's SPDY server session on a real loopback connection, driven by raw frames (header blocks
 * compressed by zlib as a peer's are): streams accepted with SYN_REPLY or refused with
 * RST_STREAM, data both ways with FIN half-closes, PINGs echoed, the stream limit, and protocol
 * violations ending the session with GOAWAY PROTOCOL_ERROR.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { constants, createDeflate, inflateSync } from "node:zlib";
import {
  ControlType,
  controlFrame,
  dataFrame,
  encodeHeaderBlock,
  FLAG_FIN,
  FrameSplitter,
  GoAwayStatus,
  pingFrame,
  type RawFrame,
  RstStatus,
} from "./spdy-frames.js";
import { SpdySession, type SpdyStream } from "./spdy-session.js";
import { SPDY_DICTIONARY } from "./spdy-zlib.js";

/** A client end: frames out (headers compressed as spdystream does), frames in, as they come. */
class RawClient {
  private readonly z = createDeflate({ dictionary: SPDY_DICTIONARY });
  private readonly zout: Buffer[] = [];
  private readonly splitter = new FrameSplitter();
  readonly frames: RawFrame[] = [];
  closed = false;
  constructor(readonly socket: Socket) {
    this.z.on("data", (d: Buffer) => this.zout.push(d));
    socket.on("data", (d: Buffer) => this.frames.push(...this.splitter.push(d)));
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => {});
  }
  async syn(id: number, headers: [string, string][], fin = false): Promise<void> {
    this.z.write(encodeHeaderBlock(headers));
    await new Promise<void>((r) => this.z.flush(constants.Z_SYNC_FLUSH, () => r()));
    const head = Buffer.alloc(10);
    head.writeUInt32BE(id);
    this.socket.write(
      controlFrame(ControlType.SYN_STREAM, fin ? FLAG_FIN : 0, Buffer.concat([head, ...this.zout.splice(0)])),
    );
  }
  async waitFor(what: string, f: (fr: RawFrame) => boolean): Promise<RawFrame> {
    for (let i = 0; i < 400; i++) {
      const hit = this.frames.find(f);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(
      `no ${what} in ${JSON.stringify(this.frames.map((x) => (x.control ? `c${x.type}` : `d${x.streamId}`)))}`,
    );
  }
}

const isControl = (type: number, id?: number) => (fr: RawFrame) =>
  fr.control && fr.type === type && (id === undefined || fr.payload.readUInt32BE(0) === id);

describe("SPDY session", () => {
  let server: Server;
  let port: number;
  const sessions: { session: SpdySession; streams: SpdyStream[] }[] = [];
  let accept: (s: SpdyStream) => true | string = () => true;

  before(async () => {
    server = createServer((socket) => {
      const entry = { session: undefined as unknown as SpdySession, streams: [] as SpdyStream[] };
      entry.session = new SpdySession(socket, Buffer.alloc(0), { maxStreams: 2, accept: (s) => accept(s) });
      entry.session.on("stream", (s: SpdyStream) => entry.streams.push(s));
      sessions.push(entry);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    for (const s of sessions) s.session.close();
    server.close();
  });

  const client = async () => {
    const s = connect(port, "127.0.0.1");
    await once(s, "connect");
    return new RawClient(s);
  };

  it("accepts a stream: SYN_REPLY, data both ways, FIN each way", async () => {
    accept = () => true;
    const c = await client();
    await c.syn(1, [["streamtype", "stdin"]]);
    const reply = await c.waitFor("SYN_REPLY", isControl(ControlType.SYN_REPLY, 1));
    assert.ok(reply.control);
    // pier's header block: a zlib stream with SPDY's dictionary holding an empty block.
    const block = inflateSync(reply.payload.subarray(4), {
      dictionary: SPDY_DICTIONARY,
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    assert.deepEqual(block, Buffer.alloc(4));
    const stream = sessions.at(-1)!.streams[0]!;
    assert.equal(stream.header("streamtype"), "stdin");
    const got: Buffer[] = [];
    stream.on("data", (d: Buffer) => got.push(d));
    const ended = once(stream, "end");
    c.socket.write(dataFrame(1, Buffer.from("abc")));
    c.socket.write(dataFrame(1, Buffer.from("def"), true));
    await ended;
    assert.equal(Buffer.concat(got).toString(), "abcdef");
    stream.end("out");
    const fin = await c.waitFor("FIN", (f) => !f.control && f.streamId === 1 && (f.flags & FLAG_FIN) !== 0);
    assert.ok(!fin.control);
    assert.ok(c.frames.some((f) => !f.control && f.data.toString() === "out"));
    c.socket.destroy();
  });

  it("echoes the client's pings, refuses streams it does not accept and past the limit", async () => {
    accept = (s) => (s.header("streamtype") === "bad" ? "bad stream" : true);
    const c = await client();
    c.socket.write(pingFrame(7));
    await c.waitFor("PING", isControl(ControlType.PING, 7));
    await c.syn(1, [["streamtype", "bad"]]);
    const rst = await c.waitFor("RST_STREAM", isControl(ControlType.RST_STREAM, 1));
    assert.ok(rst.control);
    assert.equal(rst.payload.readUInt32BE(4), RstStatus.REFUSED_STREAM);
    await c.syn(3, [["streamtype", "a"]]);
    await c.syn(5, [["streamtype", "b"]]);
    await c.syn(7, [["streamtype", "c"]]);
    const over = await c.waitFor("RST_STREAM 7", isControl(ControlType.RST_STREAM, 7));
    assert.ok(over.control);
    assert.equal(over.payload.readUInt32BE(4), RstStatus.REFUSED_STREAM);
    assert.ok(c.frames.some(isControl(ControlType.SYN_REPLY, 5)));
    c.socket.destroy();
  });

  it("ends the session with GOAWAY PROTOCOL_ERROR on a violation", async () => {
    accept = () => true;
    for (const violate of [
      async (c: RawClient) => {
        await c.syn(5, [["a", "b"]]);
        await c.syn(3, [["a", "b"]]); // ids must grow
      },
      async (c: RawClient) => {
        c.socket.write(dataFrame(9, Buffer.from("x"))); // a stream never opened
      },
      async (c: RawClient) => {
        const f = controlFrame(ControlType.PING, 0, Buffer.alloc(4));
        f.writeUInt16BE(0x8002, 0); // SPDY/2
        c.socket.write(f);
      },
      async (c: RawClient) => {
        c.socket.write(
          controlFrame(ControlType.SYN_STREAM, 0, Buffer.concat([Buffer.alloc(10), Buffer.from("not zlib")])),
        );
      },
    ]) {
      const c = await client();
      await violate(c);
      const goAway = await c.waitFor("GOAWAY", isControl(ControlType.GOAWAY));
      assert.ok(goAway.control);
      assert.equal(goAway.payload.readUInt32BE(4), GoAwayStatus.PROTOCOL_ERROR);
      for (let i = 0; i < 200 && !c.closed; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(c.closed, "the connection is closed");
    }
  });
});
