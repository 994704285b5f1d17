/**
 * SPDY/3 framing (the wire format of `Upgrade: SPDY/3.1`, as moby/spdystream, the library the
 * kubelet and client-go use, writes it): control and data frames split out of a byte stream
 * with every size bounded, control payloads decoded, and the frames pier sends encoded. The
 * name/value header block is encoded and decoded here uncompressed; `spdy-zlib.ts` compresses it.
 * Pure.
 */
import { PierError } from "../../../errors.js";

/** The SPDY version of every control frame (SPDY/3.1 keeps version 3 on the wire). */
export const SPDY_VERSION = 3;

/** Control frame types. */
export const ControlType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

/** FLAG_FIN of data frames and of SYN_STREAM/SYN_REPLY/HEADERS: the sender's side is done. */
export const FLAG_FIN = 0x01;
/** FLAG_UNIDIRECTIONAL of SYN_STREAM: the receiver never sends on the stream. */
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes. */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

/** GOAWAY status codes. */
export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

/** The largest data frame pier takes (client-go copies in 32 KiB pieces). */
export const MAX_DATA_FRAME = 1024 * 1024;
/** The largest control frame pier takes (a compressed header block and a few words). */
export const MAX_CONTROL_FRAME = 64 * 1024;
/** The most name/value pairs in one header block. */
export const MAX_HEADER_PAIRS = 64;

/** A protocol violation of the peer: the session ends with GOAWAY PROTOCOL_ERROR. */
export class SpdyProtocolError extends PierError {
  constructor(message: string) {
    super("SPDY_PROTOCOL_ERROR", message);
  }
}

/** One frame as it came off the wire. */
export type RawFrame =
  | { control: false; streamId: number; flags: number; data: Buffer }
  | { control: true; version: number; type: number; flags: number; payload: Buffer };

/** Splits a byte stream into frames as they complete; a frame over the bounds is refused. */
export class FrameSplitter {
  private buf: Buffer = Buffer.alloc(0);

  /** The frames `chunk` completes (a partial one is kept for the next chunk). */
  push(chunk: Buffer): RawFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: RawFrame[] = [];
    while (this.buf.length >= 8) {
      const first = this.buf.readUInt32BE(0);
      const flags = this.buf[4]!;
      const length = this.buf.readUIntBE(5, 3);
      const control = (first & 0x80000000) !== 0;
      const max = control ? MAX_CONTROL_FRAME : MAX_DATA_FRAME;
      if (length > max)
        throw new SpdyProtocolError(
          `${control ? "control" : "data"} frame of ${length} bytes exceeds pier's limit of ${max}`,
        );
      if (this.buf.length < 8 + length) break;
      // A copy: the frame outlives this chunk, which may be large.
      const body = Buffer.from(this.buf.subarray(8, 8 + length));
      this.buf = this.buf.subarray(8 + length);
      out.push(
        control
          ? { control: true, version: (first >>> 16) & 0x7fff, type: first & 0xffff, flags, payload: body }
          : { control: false, streamId: first & 0x7fffffff, flags, data: body },
      );
    }
    return out;
  }
}

/** A stream id: the low 31 bits of a word. */
function streamIdAt(b: Buffer, offset: number): number {
  return b.readUInt32BE(offset) & 0x7fffffff;
}

function need(payload: Buffer, n: number, what: string): void {
  if (payload.length < n)
    throw new SpdyProtocolError(`${what} frame of ${payload.length} bytes is too short`);
}

/** SYN_STREAM's fields; `headerBlock` is still compressed. */
export function parseSynStream(payload: Buffer): { streamId: number; headerBlock: Buffer } {
  need(payload, 10, "SYN_STREAM");
  return { streamId: streamIdAt(payload, 0), headerBlock: payload.subarray(10) };
}

/** SYN_REPLY's or HEADERS' fields; `headerBlock` is still compressed. */
export function parseStreamHeaders(payload: Buffer, what: string): { streamId: number; headerBlock: Buffer } {
  need(payload, 4, what);
  return { streamId: streamIdAt(payload, 0), headerBlock: payload.subarray(4) };
}

/** RST_STREAM's, WINDOW_UPDATE's or GOAWAY's two words. */
export function parseTwoWords(payload: Buffer, what: string): [number, number] {
  if (payload.length !== 8)
    throw new SpdyProtocolError(`${what} frame must be 8 bytes, not ${payload.length}`);
  return [streamIdAt(payload, 0), payload.readUInt32BE(4)];
}

/** PING's id. */
export function parsePing(payload: Buffer): number {
  if (payload.length !== 4) throw new SpdyProtocolError(`PING frame must be 4 bytes, not ${payload.length}`);
  return payload.readUInt32BE(0);
}

/**
 * The name/value pairs of a decompressed header block: names lower-cased as SPDY requires,
 * a value holding several (NUL-separated) split. Bounded by {@link MAX_HEADER_PAIRS}.
 */
export function decodeHeaderBlock(block: Buffer): Map<string, string[]> {
  const fail = (why: string): never => {
    throw new SpdyProtocolError(`invalid header block: ${why}`);
  };
  if (block.length < 4) fail("shorter than its pair count");
  const count = block.readUInt32BE(0);
  if (count > MAX_HEADER_PAIRS) fail(`${count} pairs (at most ${MAX_HEADER_PAIRS})`);
  const out = new Map<string, string[]>();
  let at = 4;
  const field = (): string => {
    if (at + 4 > block.length) fail("truncated");
    const n = block.readUInt32BE(at);
    at += 4;
    if (at + n > block.length) fail("truncated");
    const s = block.toString("utf8", at, at + n);
    at += n;
    return s;
  };
  for (let i = 0; i < count; i++) {
    const name = field().toLowerCase();
    const value = field();
    if (!name) fail("empty header name");
    if (out.has(name)) fail(`duplicate header ${name}`);
    out.set(name, value.split("\0"));
  }
  if (at !== block.length) fail(`${block.length - at} bytes after the last pair`);
  return out;
}

/** A header block (uncompressed) of `headers`, names lower-cased. */
export function encodeHeaderBlock(headers: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [u32(headers.length)];
  for (const [name, value] of headers) {
    const n = Buffer.from(name.toLowerCase());
    const v = Buffer.from(value);
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** A control frame of `type` with `payload`. */
export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  h.writeUInt16BE(type, 2);
  h[4] = flags;
  h.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([h, payload]);
}

/** A data frame on `streamId`. */
export function dataFrame(streamId: number, data: Buffer, fin = false): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h[4] = fin ? FLAG_FIN : 0;
  h.writeUIntBE(data.length, 5, 3);
  return Buffer.concat([h, data]);
}

/** SYN_REPLY for `streamId` with an already compressed header block. */
export function synReplyFrame(streamId: number, headerBlock: Buffer, fin = false): Buffer {
  return controlFrame(ControlType.SYN_REPLY, fin ? FLAG_FIN : 0, Buffer.concat([u32(streamId), headerBlock]));
}

/** RST_STREAM for `streamId`. */
export function rstStreamFrame(streamId: number, status: number): Buffer {
  return controlFrame(ControlType.RST_STREAM, 0, Buffer.concat([u32(streamId), u32(status)]));
}

/** PING with `id` (an answer echoes the peer's id). */
export function pingFrame(id: number): Buffer {
  return controlFrame(ControlType.PING, 0, u32(id));
}

/** GOAWAY naming the last stream pier took. */
export function goAwayFrame(lastGoodStreamId: number, status: number): Buffer {
  return controlFrame(ControlType.GOAWAY, 0, Buffer.concat([u32(lastGoodStreamId), u32(status)]));
}
