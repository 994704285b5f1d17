/**
 * A SPDY/3.1 server session on an upgraded connection, as moby/spdystream's server side
 * behaves for the kubelet: the client opens streams (odd ids, SYN_STREAM with headers), pier
 * accepts each with SYN_REPLY or refuses it with RST_STREAM, data flows both ways with FIN
 * half-closes, PINGs are echoed, GOAWAY ends the session. Each stream is a Duplex (readable:
 * the client's data, ending at its FIN; writable: data frames, `end()` sending FIN).
 *
 * Bounds: frame sizes (`spdy-frames.ts`), inflated header blocks (`spdy-zlib.ts`), concurrent
 * streams ({@link SpdySessionOptions.maxStreams}). Any protocol violation ends the session with
 * GOAWAY PROTOCOL_ERROR and closes the connection. Flow control: spdystream neither sends nor
 * honours WINDOW_UPDATE, so pier relies, as it does, on TCP's: a stream whose reader is behind
 * pauses the connection (WINDOW_UPDATE and SETTINGS frames are read and ignored).
 */
import { EventEmitter } from "node:events";
import { Duplex } from "node:stream";
import {
  ControlType,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  FLAG_FIN,
  FLAG_UNIDIRECTIONAL,
  FrameSplitter,
  GoAwayStatus,
  goAwayFrame,
  parsePing,
  parseStreamHeaders,
  parseSynStream,
  parseTwoWords,
  pingFrame,
  type RawFrame,
  RstStatus,
  rstStreamFrame,
  SPDY_VERSION,
  SpdyProtocolError,
  synReplyFrame,
} from "./spdy-frames.js";
import { HeaderCompressor, HeaderDecompressor } from "./spdy-zlib.js";

/** One stream of a {@link SpdySession}. */
export class SpdyStream extends Duplex {
  /** The client's SYN_STREAM headers (lower-case names). */
  readonly headers: Map<string, string[]>;
  /** True once the client sent FIN (or the stream was reset). */
  remoteClosed = false;
  private localClosed = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    headers: Map<string, string[]>,
    unidirectional: boolean,
  ) {
    super({ allowHalfOpen: true });
    this.headers = headers;
    this.localClosed = unidirectional;
  }

  /** The first value of header `name`, or "". */
  header(name: string): string {
    return this.headers.get(name)?.[0] ?? "";
  }

  /** Data from the client: pushed by the session; false means "pause the connection". */
  receive(data: Buffer, fin: boolean): void {
    if (data.length && !this.push(data)) this.session.block(this);
    if (fin) {
      this.remoteClosed = true;
      this.push(null);
      this.session.settle(this);
    }
  }

  override _read(): void {
    this.session.unblock(this);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.localClosed) {
      done();
      return;
    }
    this.session.send(dataFrame(this.id, chunk), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    if (!this.localClosed) {
      this.localClosed = true;
      this.session.send(dataFrame(this.id, Buffer.alloc(0), true));
    }
    this.session.settle(this);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.session.forget(this);
    done(err);
  }

  /** True when both sides are done. */
  get finished(): boolean {
    return this.remoteClosed && this.localClosed;
  }

  /** Ends the stream at once with RST_STREAM `status` (CANCEL by default). */
  reset(status: number = RstStatus.CANCEL): void {
    if (!this.finished) this.session.send(rstStreamFrame(this.id, status));
    this.remoteClosed = true;
    this.localClosed = true;
    this.destroy();
  }
}

/** Options of a {@link SpdySession}. */
export interface SpdySessionOptions {
  /** The most streams open at once; more are refused with RST_STREAM REFUSED_STREAM. */
  maxStreams: number;
  /**
   * Decides on a new stream: true accepts it (SYN_REPLY), a string refuses it (RST_STREAM,
   * the string logged). Called in stream order.
   */
  accept(stream: SpdyStream): true | string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * A SPDY server session on `socket` (after the 101 answer; `head` is what came after the
 * request). Emits `stream` for each accepted stream and `close` once the connection is gone.
 */
export class SpdySession extends EventEmitter {
  private readonly splitter = new FrameSplitter();
  private readonly inflater = new HeaderDecompressor();
  private readonly deflater = new HeaderCompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private readonly blocked = new Set<SpdyStream>();
  private queue: RawFrame[] = [];
  private working = false;
  private lastStreamId = 0;
  private goneAway = false;
  closed = false;

  constructor(
    private readonly socket: Duplex,
    head: Buffer,
    private readonly opts: SpdySessionOptions,
  ) {
    super();
    socket.on("data", (chunk: Buffer) => this.input(chunk));
    socket.on("end", () => this.close());
    socket.on("close", () => this.close());
    socket.on("error", () => this.close());
    if (head.length) queueMicrotask(() => this.input(head));
  }

  private input(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.queue.push(...this.splitter.push(chunk));
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    void this.work();
  }

  /** Handles queued frames in order; a header block to inflate holds the connection meanwhile. */
  private async work(): Promise<void> {
    if (this.working) return;
    this.working = true;
    try {
      while (this.queue.length && !this.closed) {
        const frame = this.queue.shift()!;
        if (frame.control && frame.type === ControlType.SYN_STREAM) {
          this.socket.pause();
          await this.synStream(frame.flags, frame.payload);
          if (!this.blocked.size) this.socket.resume();
        } else if (frame.control && frame.type === ControlType.HEADERS) {
          this.socket.pause();
          // Extra headers on a stream: inflated (the zlib stream must stay in step), not used.
          await this.inflater.decompress(parseStreamHeaders(frame.payload, "HEADERS").headerBlock);
          if (!this.blocked.size) this.socket.resume();
        } else this.handle(frame);
      }
    } catch (err) {
      this.fail(err as Error);
    } finally {
      this.working = false;
    }
  }

  private async synStream(flags: number, payload: Buffer): Promise<void> {
    const { streamId, headerBlock } = parseSynStream(payload);
    const headers = decodeHeaderBlock(await this.inflater.decompress(headerBlock));
    if (this.closed) return;
    if (streamId % 2 === 0 || streamId <= this.lastStreamId)
      throw new SpdyProtocolError(`SYN_STREAM with stream id ${streamId} after ${this.lastStreamId}`);
    this.lastStreamId = streamId;
    if (this.goneAway) {
      this.send(rstStreamFrame(streamId, RstStatus.REFUSED_STREAM));
      return;
    }
    if (this.streams.size >= this.opts.maxStreams) {
      this.opts.log?.("streaming: stream refused", { reason: `more than ${this.opts.maxStreams} streams` });
      this.send(rstStreamFrame(streamId, RstStatus.REFUSED_STREAM));
      return;
    }
    const stream = new SpdyStream(this, streamId, headers, (flags & FLAG_UNIDIRECTIONAL) !== 0);
    const verdict = this.opts.accept(stream);
    if (verdict !== true) {
      this.opts.log?.("streaming: stream refused", { reason: verdict });
      this.send(rstStreamFrame(streamId, RstStatus.REFUSED_STREAM));
      return;
    }
    this.streams.set(streamId, stream);
    this.send(synReplyFrame(streamId, this.deflater.compress(encodeHeaderBlock([]))));
    if (flags & FLAG_FIN) stream.receive(Buffer.alloc(0), true);
    this.emit("stream", stream);
  }

  private handle(frame: RawFrame): void {
    if (!frame.control) {
      const stream = this.streams.get(frame.streamId);
      if (!stream) {
        // Data for a stream reset or refused a moment ago is normal; for one never opened it is not.
        if (frame.streamId > this.lastStreamId || frame.streamId % 2 === 0)
          throw new SpdyProtocolError(`data frame for stream ${frame.streamId}, which was never opened`);
        return;
      }
      if (stream.remoteClosed) {
        stream.reset(RstStatus.STREAM_ALREADY_CLOSED);
        return;
      }
      stream.receive(frame.data, (frame.flags & FLAG_FIN) !== 0);
      return;
    }
    if (frame.version !== SPDY_VERSION)
      throw new SpdyProtocolError(`control frame of SPDY version ${frame.version} (pier speaks 3)`);
    switch (frame.type) {
      case ControlType.RST_STREAM: {
        const [id] = parseTwoWords(frame.payload, "RST_STREAM");
        const stream = this.streams.get(id);
        if (stream) {
          stream.remoteClosed = true;
          stream.destroy();
        }
        return;
      }
      case ControlType.PING: {
        const id = parsePing(frame.payload);
        // The client's pings (odd ids) are echoed; pier sends none, so an even one is dropped.
        if (id % 2 === 1) this.send(pingFrame(id));
        return;
      }
      case ControlType.GOAWAY:
        parseTwoWords(frame.payload, "GOAWAY");
        this.goneAway = true;
        return;
      case ControlType.WINDOW_UPDATE:
        parseTwoWords(frame.payload, "WINDOW_UPDATE");
        return;
      case ControlType.SETTINGS:
        return;
      case ControlType.SYN_REPLY:
        throw new SpdyProtocolError("SYN_REPLY from the client: pier opens no stream");
      default:
        // SPDY/3: unknown control frames are ignored.
        return;
    }
  }

  /** Writes `frame` to the connection. */
  send(frame: Buffer, done?: (err?: Error | null) => void): void {
    if (this.closed || this.socket.destroyed) {
      done?.();
      return;
    }
    if (this.socket.write(frame) || !done) done?.();
    else this.socket.once("drain", () => done());
  }

  /** A stream's reader is behind: the connection pauses until it reads. */
  block(stream: SpdyStream): void {
    this.blocked.add(stream);
    this.socket.pause();
  }

  /** A stream's reader wants more. */
  unblock(stream: SpdyStream): void {
    if (this.blocked.delete(stream) && !this.blocked.size && !this.working) this.socket.resume();
  }

  /** A stream may be done both ways: it leaves the session's count. */
  settle(stream: SpdyStream): void {
    if (stream.finished) this.streams.delete(stream.id);
  }

  /** A destroyed stream. */
  forget(stream: SpdyStream): void {
    this.streams.delete(stream.id);
    this.unblock(stream);
  }

  /** Sends GOAWAY and closes the connection once what was written has gone out. */
  goAway(status: number = GoAwayStatus.OK): void {
    if (this.closed) return;
    this.send(goAwayFrame(this.lastStreamId, status));
    this.socket.end();
    this.close();
  }

  private fail(err: Error): void {
    this.opts.log?.("streaming: SPDY session ended", { error: err.message });
    if (!this.closed) this.send(goAwayFrame(this.lastStreamId, GoAwayStatus.PROTOCOL_ERROR));
    this.close();
    // Whatever is buffered goes out; a client that does not read is cut at once.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** Ends every stream and the connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.inflater.close();
    for (const s of [...this.streams.values()]) {
      s.remoteClosed = true;
      s.destroy();
    }
    this.streams.clear();
    if (!this.socket.writableEnded) this.socket.end();
    this.emit("close");
  }
}
