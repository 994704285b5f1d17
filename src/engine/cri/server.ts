/**
 * pierd's CRI front (`--cri-socket`, default `<execRoot>/cri.sock`): the RuntimeService and
 * ImageService of `runtime.v1` over gRPC on a unix socket, both on the engine the other two
 * APIs use, so pods and their containers are ordinary engine containers. The socket and the
 * streaming server's port listen from the start; the gRPC server, the handlers and the streaming
 * server proper are loaded at the socket's first connection (see `lazy-socket.ts`,
 * `streaming/listener.ts`).
 */
import type { Engine } from "../engine.js";
import { type LazySocket, listenLazily } from "./lazy-socket.js";
import type { CgroupDriver } from "./sandbox.js";
import { StreamingListener } from "./streaming/listener.js";
import type { StreamingServer } from "./streaming/server.js";

/** Options of {@link startCriServer}. */
export interface CriServerOptions {
  /** Owner group of the socket (`pier`), as the other sockets. */
  gid?: number;
  /** Where the CNI plugins are. */
  cniPath?: string;
  /** The CNI config directory of the pod network (default /etc/cni/net.d; "": pier's bridge). */
  cniConfDir?: string;
  /** The cgroup driver RuntimeConfig reports and pods' `cgroup_parent` follows (default cgroupfs). */
  cgroupDriver?: CgroupDriver;
  /**
   * `HOST:PORT` of the streaming server for Exec, Attach and PortForward (default loopback, a
   * random port).
   */
  streamingAddress?: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** A serving CRI: its gRPC socket and its streaming server. */
export interface CriServer extends LazySocket {
  /** `http://HOST:PORT` of the streaming server. */
  streamingUrl: string;
}

/** Serves the CRI for `engine` on the unix socket `socket`, and its streaming server. */
export async function startCriServer(
  engine: Engine,
  socket: string,
  opts: CriServerOptions = {},
): Promise<CriServer> {
  // Listens now; the server proper (ws, SPDY) comes with the handlers, which alone make tokens.
  const streaming = await StreamingListener.listen(opts.streamingAddress);
  let served: StreamingServer | undefined;
  const load = async () => {
    const [
      { runtimeStreams },
      { grpcServer },
      { imageService },
      { criServices },
      { runtimeService },
      { StreamingServer },
    ] = await Promise.all([
      import("./events.js"),
      import("./grpc.js"),
      import("./image-service.js"),
      import("./proto.js"),
      import("./runtime-service.js"),
      import("./streaming/server.js"),
    ]);
    const defs = criServices();
    served ??= new StreamingServer(engine, streaming, opts.log ? { log: opts.log } : {});
    return grpcServer(
      [
        {
          definition: defs.runtime,
          handlers: runtimeService(engine, {
            ...(opts.cniPath ? { cniPath: opts.cniPath } : {}),
            ...(opts.cgroupDriver ? { cgroupDriver: opts.cgroupDriver } : {}),
            streaming: served,
            ...(opts.cniConfDir !== undefined ? { cniConfDir: opts.cniConfDir } : {}),
          }),
          streams: runtimeStreams(engine),
        },
        { definition: defs.image, handlers: imageService(engine) },
      ],
      opts.log ? { log: opts.log } : {},
    );
  };
  const grpc = await listenLazily(socket, load, {
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  }).catch(async (err: Error) => {
    await streaming.close();
    throw err;
  });
  return {
    socket: grpc.socket,
    loaded: grpc.loaded,
    streamingUrl: streaming.baseUrl,
    close: async () => {
      await Promise.all([grpc.close(), streaming.close()]);
    },
  };
}
