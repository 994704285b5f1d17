/**
 * Kubernetes' channel protocols over WebSocket (`ws` does the WebSocket framing), as the
 * kubelet's wsstream speaks them: every message starts with its channel number (stdin 0, stdout
 * 1, stderr 2, error 3, resize 4 for a command; data 2n and error 2n+1 for the n-th port of a
 * port-forward), as a byte in the binary protocols or as an ASCII digit with a base64 body in
 * the `base64.` ones; in `v5.channel.k8s.io` the message `255 n` half-closes the client's
 * channel n. Each channel is a stream: the client's messages for a readable channel come out of
 * it, what is written to a writable one goes to the client.
 */
import { PassThrough, type Readable, Writable } from "node:stream";
import type { WebSocket } from "ws";

/** A negotiated channel protocol. */
export interface ChannelProtocol {
  /** 1 (channel.k8s.io), 4 or 5. */
  version: number;
  base64: boolean;
}

/** The remote command protocols over WebSocket (no protocol offered: `channel.k8s.io`'s). */
export const WS_COMMAND_PROTOCOLS: Readonly<Record<string, ChannelProtocol>> = {
  "v5.channel.k8s.io": { version: 5, base64: false },
  "v4.channel.k8s.io": { version: 4, base64: false },
  "v4.base64.channel.k8s.io": { version: 4, base64: true },
  "channel.k8s.io": { version: 1, base64: false },
  "base64.channel.k8s.io": { version: 1, base64: true },
  "": { version: 1, base64: false },
};

/** The port-forward protocols over WebSocket. */
export const WS_PORTFORWARD_PROTOCOLS: Readonly<Record<string, ChannelProtocol>> = {
  "v4.channel.k8s.io": { version: 4, base64: false },
  "v4.base64.channel.k8s.io": { version: 4, base64: true },
  "": { version: 4, base64: false },
};

/** The v5 message that half-closes a channel. */
export const STREAM_CLOSE = 255;

/** How much may wait in `ws`'s send buffer before a channel's writer waits. */
const HIGH_WATER = 256 * 1024;

/**
 * The client's first offered protocol that `supported` has (as wsstream picks), "" when it
 * offered none, undefined when it offered only others. Pure.
 */
export function negotiateWebSocket(
  offered: readonly string[],
  supported: Readonly<Record<string, ChannelProtocol>>,
): string | undefined {
  if (!offered.length) return "";
  return offered.find((p) => p !== "" && p in supported);
}

/** The channels of one WebSocket connection. */
export class ChannelConnection {
  private readonly inputs = new Map<number, PassThrough>();
  private readonly outputs = new Map<number, Writable>();
  /** Aborted when the connection is gone. */
  readonly signal: AbortSignal;

  constructor(
    private readonly ws: WebSocket,
    private readonly protocol: ChannelProtocol,
    readable: readonly number[],
    writable: readonly number[],
    log: (msg: string, fields?: Record<string, unknown>) => void,
  ) {
    const abort = new AbortController();
    this.signal = abort.signal;
    for (const ch of readable) this.inputs.set(ch, new PassThrough());
    for (const ch of writable) this.outputs.set(ch, this.writer(ch));
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      try {
        this.receive(data, isBinary);
      } catch (err) {
        log("streaming: WebSocket client refused", { error: (err as Error).message });
        ws.close(1002, (err as Error).message.slice(0, 120));
      }
    });
    ws.on("error", () => {});
    ws.on("close", () => {
      abort.abort();
      for (const p of this.inputs.values()) p.end();
      for (const w of this.outputs.values()) w.destroy();
    });
  }

  /** The client's data on channel `ch` (a readable channel). */
  input(ch: number): Readable {
    return this.inputs.get(ch) as Readable;
  }

  /** The channel `ch` to the client (a writable channel). */
  output(ch: number): Writable {
    return this.outputs.get(ch) as Writable;
  }

  /** Sends `data` on channel `ch` at once (an empty message says "connected"). */
  send(ch: number, data: Buffer, done?: (err?: Error) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) {
      done?.();
      return;
    }
    if (this.protocol.base64)
      this.ws.send(String.fromCharCode(0x30 + ch) + data.toString("base64"), { binary: false }, done);
    else this.ws.send(Buffer.concat([Buffer.from([ch]), data]), { binary: true }, done);
  }

  /** Closes the connection normally once what was sent has gone out. */
  close(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
  }

  private writer(ch: number): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, done) => {
        // Past the high-water mark the writer waits for its message to leave.
        if (this.ws.bufferedAmount > HIGH_WATER) this.send(ch, chunk, () => done());
        else {
          this.send(ch, chunk);
          done();
        }
      },
    });
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (!data.length) return;
    if (this.protocol.version >= 5 && data[0] === STREAM_CLOSE) {
      if (data.length !== 2) throw new Error("a close message carries exactly one channel byte");
      this.inputs.get(data[1]!)?.end();
      return;
    }
    let ch = data[0]!;
    let body = data.subarray(1);
    if (this.protocol.base64) {
      if (isBinary) throw new Error("binary message on a base64 protocol");
      ch -= 0x30;
      body = Buffer.from(body.toString("latin1"), "base64");
    }
    // As wsstream: a message for a channel the client may not write to is dropped.
    const input = this.inputs.get(ch);
    if (!input || input.writableEnded) return;
    if (!input.write(body)) {
      this.ws.pause();
      input.once("drain", () => this.ws.resume());
    }
  }
}
