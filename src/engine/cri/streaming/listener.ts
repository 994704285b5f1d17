/**
 * The streaming server's HTTP listener, apart from the server proper (`server.ts`: WebSockets,
 * SPDY, the kubelet's protocols): pierd listens from the start, since its URL is in `pier info`
 * and every Exec/Attach/PortForward answer, but loads the server proper with the CRI's handlers
 * at the CRI socket's first connection (ws and the protocols cost pierd ~2 MiB it never uses
 * without a kubelet). Until then no token exists (only those handlers make them), so every
 * request is answered as the server proper answers an unknown token: 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { parseTcpAddress } from "../../tcp-address.js";
import { CriError } from "../error.js";

/** The most connections the listener holds at once. */
export const MAX_CONNECTIONS = 1024;

/** What the listener answers until a server takes it over: nothing can be served yet. */
function notFound(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  res.writeHead(404).end("404 page not found\n");
}

/** As {@link notFound}, for an upgrade request (the connection is not an HTTP response any more). */
function upgradeNotFound(_req: IncomingMessage, socket: Duplex): void {
  socket.on("error", () => {});
  const body = "404 page not found\n";
  socket.end(
    "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The listening socket of the streaming server, and who answers on it. */
export class StreamingListener {
  private owned = false;

  private constructor(
    /** The HTTP server (its `request` and `upgrade` handlers belong to {@link take}'s caller). */
    private readonly server: Server,
    /** `http://HOST:PORT` of the listener. */
    readonly baseUrl: string,
  ) {
    server.on("request", notFound);
    server.on("upgrade", upgradeNotFound);
  }

  /** Listens on `address` (default `127.0.0.1:0`: loopback, a random port). */
  static async listen(address = "127.0.0.1:0"): Promise<StreamingListener> {
    const { host, port } = parseTcpAddress(address);
    const server = createServer();
    server.maxConnections = MAX_CONNECTIONS;
    server.headersTimeout = 30_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e) =>
        reject(new CriError("FAILED_PRECONDITION", `streaming server ${host}:${port}: ${e.message}`)),
      );
      server.listen(port, host, () => resolve());
    });
    const a = server.address();
    if (!a || typeof a === "string") {
      server.close();
      throw new CriError("FAILED_PRECONDITION", "streaming server: no address");
    }
    const hostPart = a.family === "IPv6" ? `[${a.address}]` : a.address;
    return new StreamingListener(server, `http://${hostPart}:${a.port}`);
  }

  /** Hands the listener's requests to the server proper, once: it answers all of them from now on. */
  take(): Server {
    if (this.owned) throw new CriError("FAILED_PRECONDITION", "streaming listener already taken");
    this.owned = true;
    this.server.off("request", notFound);
    this.server.off("upgrade", upgradeNotFound);
    return this.server;
  }

  /** Stops listening and closes the connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
