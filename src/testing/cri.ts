/**
 * A CRI client for tests: grpc-js's own client generated at run time from `api.proto`, as
 * crictl or the kubelet would call pierd's CRI socket.
 */
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { criProtoDir } from "../engine/cri/proto.js";

/** A decoded message. */
// biome-ignore lint/suspicious/noExplicitAny: decoded protobuf messages are read field by field
export type CriMsg = Record<string, any>;

/** A client of one CRI service. */
export type CriClient = grpc.Client &
  Record<string, (req: CriMsg, cb: (err: grpc.ServiceError | null, res: CriMsg) => void) => void>;

/** Clients of the RuntimeService and ImageService on `socket`. */
export function criClients(socket: string): { runtime: CriClient; image: CriClient } {
  const dir = criProtoDir();
  const def = loadSync(join(dir, "api.proto"), {
    includeDirs: [dir],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  // biome-ignore lint/suspicious/noExplicitAny: grpc-js's generated constructors are untyped
  const pkg = grpc.loadPackageDefinition(def) as any;
  const make = (svc: string) =>
    new pkg.runtime.v1[svc](`unix:${socket}`, grpc.credentials.createInsecure()) as CriClient;
  return { runtime: make("RuntimeService"), image: make("ImageService") };
}

/** Calls `method` on `client`. */
export function criCall(client: CriClient, method: string, req: CriMsg = {}): Promise<CriMsg> {
  return new Promise((resolve, reject) =>
    client[method]!(req, (err, res) => (err ? reject(err) : resolve(res))),
  );
}
