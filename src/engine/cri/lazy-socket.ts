/**
 * The CRI's unix socket, listened on when pierd starts (mode 0660, group `pier` as the other
 * sockets) by a plain `net` server; the gRPC server that answers it — grpc-js, proto-loader and
 * the CRI's handlers, about 20 MiB of a resident pierd — is loaded at the socket's first
 * connection. A host without a kubelet never pays for it. Connections are accepted paused
 * (nothing is read from them) and handed over once the server is loaded, so the first call's
 * bytes reach gRPC untouched.
 */
import { chmodSync, chownSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createServer, type Socket } from "node:net";

/** What answers the socket's connections once loaded. */
export interface ConnectionServer {
  /** Serves one connection (paused, unread). */
  accept(connection: Socket): void;
  /** Ends the calls under way (after a moment) and the connections. */
  close(): Promise<void>;
}

/** A listening socket. */
export interface LazySocket {
  readonly socket: string;
  /** True once the first connection loaded the server. */
  loaded(): boolean;
  /** Stops listening, then closes the loaded server, if any. */
  close(): Promise<void>;
}

/**
 * Listens on the unix socket `socket` (an old socket file there is replaced) and calls `load`
 * at the first connection. While it loads, connections wait (paused); if it fails, they are
 * closed, the error is logged, and the next connection tries again.
 */
export async function listenLazily(
  socket: string,
  load: () => Promise<ConnectionServer>,
  opts: { gid?: number; log?: (msg: string, fields?: Record<string, unknown>) => void } = {},
): Promise<LazySocket> {
  let server: ConnectionServer | undefined;
  let loading: Promise<ConnectionServer> | undefined;
  const waiting = new Set<Socket>();
  const listener = createServer({ pauseOnConnect: true }, (connection) => {
    if (server) return server.accept(connection);
    waiting.add(connection);
    connection.once("close", () => waiting.delete(connection));
    loading ??= load().then(
      (loaded) => {
        server = loaded;
        for (const c of waiting) if (!c.destroyed) loaded.accept(c);
        waiting.clear();
        return loaded;
      },
      (err: Error) => {
        loading = undefined;
        opts.log?.("CRI server failed to load", { error: err.message });
        for (const c of waiting) c.destroy();
        waiting.clear();
        throw err;
      },
    );
    loading.catch(() => {});
  });
  await rm(socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    listener.once("error", (err) =>
      reject(new Error(`CRI socket ${socket}: ${err.message}`, { cause: err })),
    );
    listener.listen(socket, () => resolve());
  });
  chmodSync(socket, 0o660);
  if (opts.gid !== undefined) chownSync(socket, 0, opts.gid);
  return {
    socket,
    loaded: () => server !== undefined,
    async close() {
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const c of waiting) c.destroy();
      const loaded = server ?? (await loading?.catch(() => undefined));
      await loaded?.close();
      await closed;
    },
  };
}
