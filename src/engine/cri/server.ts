/**
 * pierd's CRI front (`--cri-socket`, default `<execRoot>/cri.sock`): the RuntimeService and
 * ImageService of `runtime.v1` over gRPC on a unix socket, both on the engine the other two
 * APIs use, so pods and their containers are ordinary engine containers.
 */
import type { Engine } from "../engine.js";
import { runtimeStreams } from "./events.js";
import { type GrpcServer, serveGrpc } from "./grpc.js";
import { imageService } from "./image-service.js";
import { criServices } from "./proto.js";
import { runtimeService } from "./runtime-service.js";
import type { CgroupDriver } from "./sandbox.js";

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
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** Serves the CRI for `engine` on the unix socket `socket`. */
export function startCriServer(
  engine: Engine,
  socket: string,
  opts: CriServerOptions = {},
): Promise<GrpcServer> {
  const defs = criServices();
  return serveGrpc(
    socket,
    [
      {
        definition: defs.runtime,
        handlers: runtimeService(engine, {
          ...(opts.cniPath ? { cniPath: opts.cniPath } : {}),
          ...(opts.cgroupDriver ? { cgroupDriver: opts.cgroupDriver } : {}),
          ...(opts.cniConfDir !== undefined ? { cniConfDir: opts.cniConfDir } : {}),
        }),
        streams: runtimeStreams(engine),
      },
      { definition: defs.image, handlers: imageService(engine) },
    ],
    {
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    },
  );
}
