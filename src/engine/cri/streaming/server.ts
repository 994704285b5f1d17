/**
 * pier's CRI streaming server, as containerd's and CRI-O's: a separate HTTP listener (loopback
 * on a random port unless pierd is told an address) whose URLs `/exec/{token}`,
 * `/attach/{token}` and `/portforward/{token}` the Exec, Attach and PortForward calls answer
 * with. A token is spent by its first request and expires after a minute; an unknown, spent or
 * expired one is 404. The connection is then upgraded to SPDY/3.1 or to a WebSocket and the
 * kubelet's protocols run on it (see `spdy-command.ts`, `websocket-channels.ts`,
 * `port-forward.ts`).
 */
import type { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { Engine } from "../../engine.js";
import { StreamingListener } from "./listener.js";
import { forwardPort, SPDY_PORTFORWARD_PROTOCOL, sandboxNetns, spdyPortForward } from "./port-forward.js";
import { type CommandStreams, endWritable, serveAttach, serveExec } from "./remote-command.js";
import { SPDY_COMMAND_PROTOCOLS, spdyCommandStreams } from "./spdy-command.js";
import { MAX_DATA_FRAME } from "./spdy-frames.js";
import { SpdySession, type SpdyStream } from "./spdy-session.js";
import { type CommandResult, errorStreamBytes } from "./status.js";
import { type PendingRequest, RequestTokens } from "./tokens.js";
import {
  ChannelConnection,
  type ChannelProtocol,
  negotiateWebSocket,
  WS_COMMAND_PROTOCOLS,
  WS_PORTFORWARD_PROTOCOLS,
} from "./websocket-channels.js";

/** Options of {@link StreamingServer.listen}. */
export interface StreamingServerOptions {
  /** `HOST:PORT` to listen on; default `127.0.0.1:0` (loopback, a random port). */
  address?: string;
  /** How long an upgraded connection may stay silent (the kubelet's 4 hours). */
  idleTimeoutMs?: number;
  /** How long a client has to open a command's streams (the kubelet's 30 s). */
  creationTimeoutMs?: number;
  /** How long a token stays valid (one minute). */
  tokenTtlMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** The most SPDY streams open at once on one connection. */
const MAX_STREAMS = 256;

type Log = (msg: string, fields?: Record<string, unknown>) => void;

const STATUS_TEXT: Record<number, string> = { 400: "Bad Request", 403: "Forbidden", 404: "Not Found" };

/** Answers an upgrade request with an HTTP error and closes the connection. */
function refuse(socket: Duplex, code: number, message: string, headers: Record<string, string[]> = {}): void {
  const body = `${message}\n`;
  const extra = Object.entries(headers)
    .flatMap(([k, vs]) => vs.map((v) => `${k}: ${v}\r\n`))
    .join("");
  socket.end(
    `HTTP/1.1 ${code} ${STATUS_TEXT[code] ?? "Error"}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extra}\r\n${body}`,
  );
}

/** The values of a header that may come several times or comma-joined. Pure. */
function headerList(req: IncomingMessage, name: string): string[] {
  const raw: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    if (req.rawHeaders[i]!.toLowerCase() === name) raw.push(req.rawHeaders[i + 1]!);
  return raw
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean);
}

/** The request's token route: kind and token, or undefined. Pure. */
export function streamingRoute(
  url: string | undefined,
): { kind: PendingRequest["kind"]; token: string } | undefined {
  const m = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]{1,64})(?:\?.*)?$/.exec(url ?? "");
  return m ? { kind: m[1] as PendingRequest["kind"], token: m[2]! } : undefined;
}

/** The streaming server of one pierd. */
export class StreamingServer {
  readonly tokens: RequestTokens;
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_DATA_FRAME,
    perMessageDeflate: false,
    clientTracking: false,
  });
  private readonly log: Log;
  private readonly idleTimeoutMs: number;
  private readonly creationTimeoutMs: number;

  /** `http://HOST:PORT` of the listener. */
  readonly baseUrl: string;

  /** Serves on `listener` (which answers 404 until now), taking it over. */
  constructor(
    private readonly engine: Engine,
    private readonly listener: StreamingListener,
    opts: Omit<StreamingServerOptions, "address"> = {},
  ) {
    this.baseUrl = listener.baseUrl;
    const server = listener.take();
    this.tokens = new RequestTokens(opts.tokenTtlMs);
    this.log = opts.log ?? (() => {});
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 4 * 3600_000;
    this.creationTimeoutMs = opts.creationTimeoutMs ?? 30_000;
    server.on("request", (req, res) => {
      const route = streamingRoute(req.url);
      req.resume();
      const pending = route ? this.tokens.consume(route.token) : undefined;
      if (!route || !pending || pending.kind !== route.kind) res.writeHead(404).end("404 page not found\n");
      else res.writeHead(400).end("unable to upgrade: missing upgrade headers in request\n");
    });
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => {});
      try {
        this.upgrade(req, socket, head);
      } catch (err) {
        this.log("streaming: request failed", { error: (err as Error).message });
        socket.destroy();
      }
    });
  }

  /** Listens on `opts.address` (default loopback, a random port) and serves there at once. */
  static async listen(engine: Engine, opts: StreamingServerOptions = {}): Promise<StreamingServer> {
    return new StreamingServer(engine, await StreamingListener.listen(opts.address), opts);
  }

  /** Keeps `request` under a new token and returns its URL. */
  url(request: PendingRequest): string {
    return `${this.baseUrl}/${request.kind}/${this.tokens.insert(request)}`;
  }

  /** Stops listening and closes the connections. */
  close(): Promise<void> {
    return this.listener.close();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const route = streamingRoute(req.url);
    const pending = route ? this.tokens.consume(route.token) : undefined;
    if (!route || !pending || pending.kind !== route.kind) {
      refuse(socket, 404, "404 page not found");
      return;
    }
    if (socket instanceof Socket) {
      socket.setTimeout(this.idleTimeoutMs, () => socket.destroy());
      socket.setNoDelay(true);
    }
    const upgrade = String(req.headers.upgrade ?? "").toLowerCase();
    if (upgrade.includes("spdy/3.1")) {
      this.spdy(req, socket, head, pending);
      return;
    }
    if (upgrade === "websocket") {
      this.websocket(req, socket, head, pending);
      return;
    }
    refuse(
      socket,
      400,
      `unable to upgrade: unsupported Upgrade ${JSON.stringify(req.headers.upgrade ?? "")}`,
    );
  }

  private spdy(req: IncomingMessage, socket: Duplex, head: Buffer, pending: PendingRequest): void {
    const offered = headerList(req, "x-stream-protocol-version");
    if (!offered.length) {
      refuse(socket, 400, "unable to upgrade: X-Stream-Protocol-Version is required");
      return;
    }
    const supported =
      pending.kind === "portforward" ? [SPDY_PORTFORWARD_PROTOCOL] : Object.keys(SPDY_COMMAND_PROTOCOLS);
    const protocol = offered.find((p) => supported.includes(p));
    if (!protocol) {
      refuse(
        socket,
        403,
        `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(" ")}], server accepts [${supported.join(" ")}]`,
        { "X-Accepted-Stream-Protocol-Versions": supported },
      );
      return;
    }
    let netns = "";
    if (pending.kind === "portforward") {
      try {
        netns = sandboxNetns(this.engine, pending.sandboxId);
      } catch (err) {
        refuse(socket, 400, (err as Error).message);
        return;
      }
    }
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
        `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
    );
    const accepting: { accept: (s: SpdyStream) => true | string } = { accept: () => "not ready" };
    const session = new SpdySession(socket, head, {
      maxStreams: MAX_STREAMS,
      accept: (s) => accepting.accept(s),
      log: this.log,
    });
    if (pending.kind === "portforward") {
      accepting.accept = spdyPortForward(session, netns, pending.sandboxId, this.creationTimeoutMs);
      return;
    }
    const version = SPDY_COMMAND_PROTOCOLS[protocol]!;
    void spdyCommandStreams(session, accepting, pending, version, this.creationTimeoutMs).then((io) => {
      if (io) void this.command(pending, io);
    });
  }

  private command(pending: PendingRequest, io: CommandStreams): Promise<void> {
    if (pending.kind === "exec") return serveExec(this.engine, pending, io, this.log);
    if (pending.kind === "attach") return serveAttach(this.engine, pending, io, this.log);
    return Promise.resolve();
  }

  private websocket(req: IncomingMessage, socket: Duplex, head: Buffer, pending: PendingRequest): void {
    const table = pending.kind === "portforward" ? WS_PORTFORWARD_PROTOCOLS : WS_COMMAND_PROTOCOLS;
    const offered = headerList(req, "sec-websocket-protocol");
    const name = negotiateWebSocket(offered, table);
    if (name === undefined) {
      refuse(
        socket,
        403,
        `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(" ")}], server accepts [${Object.keys(table).filter(Boolean).join(" ")}]`,
      );
      return;
    }
    let netns = "";
    if (pending.kind === "portforward") {
      if (!pending.ports.length) {
        refuse(socket, 400, `query parameter "port" is required`);
        return;
      }
      try {
        netns = sandboxNetns(this.engine, pending.sandboxId);
      } catch (err) {
        refuse(socket, 400, (err as Error).message);
        return;
      }
    }
    const protocol = table[name] as ChannelProtocol;
    const handle = (ws: import("ws").WebSocket) => {
      // ws clears the socket's timeout when it takes it over: the idle bound is set again.
      if (socket instanceof Socket) socket.setTimeout(this.idleTimeoutMs, () => socket.destroy());
      if (pending.kind === "portforward") {
        this.wsPortForward(ws, protocol, pending, netns);
        return;
      }
      const want = pending;
      const readable = [...(want.stdin ? [0] : []), 4];
      const writable = [...(want.stdout ? [1] : []), ...(want.stderr ? [2] : []), 3];
      const conn = new ChannelConnection(ws, protocol, readable, writable, this.log);
      // As the kubelet: an empty message on the lowest writable channel says the streams are up.
      conn.send(want.stdout ? 1 : want.stderr ? 2 : 3, Buffer.alloc(0));
      const io: CommandStreams = {
        signal: conn.signal,
        ...(want.stdin ? { stdin: conn.input(0) } : {}),
        ...(want.stdout ? { stdout: conn.output(1) } : {}),
        ...(want.stderr ? { stderr: conn.output(2) } : {}),
        ...(want.tty ? { resize: conn.input(4) } : {}),
        finish: async (result: CommandResult) => {
          await Promise.all([endWritable(io.stdout), endWritable(io.stderr)]);
          const bytes = errorStreamBytes(result, protocol.version);
          if (bytes.length) await new Promise<void>((r) => conn.send(3, bytes, () => r()));
          conn.close();
        },
      };
      void this.command(pending, io);
    };
    this.wss.handleUpgrade(req, socket, head, handle);
  }

  private wsPortForward(
    ws: import("ws").WebSocket,
    protocol: ChannelProtocol,
    pending: Extract<PendingRequest, { kind: "portforward" }>,
    netns: string,
  ): void {
    const data = pending.ports.map((_, i) => 2 * i);
    const errors = pending.ports.map((_, i) => 2 * i + 1);
    const conn = new ChannelConnection(ws, protocol, data, [...data, ...errors], this.log);
    const forwards = pending.ports.map((port, i) => {
      const portBytes = Buffer.alloc(2);
      portBytes.writeUInt16LE(port);
      conn.send(2 * i, portBytes);
      conn.send(2 * i + 1, portBytes);
      return forwardPort(
        netns,
        pending.sandboxId,
        port,
        conn.input(2 * i),
        conn.output(2 * i),
        conn.output(2 * i + 1),
      );
    });
    void Promise.all(forwards).then(() => conn.close());
  }
}
