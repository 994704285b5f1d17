/**
 * The CRI's transport: a grpc-js server answering the connections it is handed (the unix socket
 * is `lazy-socket.ts`'s, which loads this at the first connection), unary handlers that receive
 * the decoded request and an abort signal (the client cancelled or its deadline passed), and
 * errors answered with their gRPC status and message. Methods without a handler answer
 * grpc-js's own `UNIMPLEMENTED` naming the method. Every message is bounded
 * ({@link MAX_MESSAGE_BYTES}), as are streams per connection.
 */
import type { Duplex } from "node:stream";
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
  setLogger,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { CriError, grpcStatusOf } from "./error.js";

/** The largest message either way: the kubelet's own limit (16 MiB). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** A decoded message (the proto's field names, unset fields absent). */
export type Message = Record<string, unknown>;

/** One unary method: the request in, the response out; `signal` aborts with the call. */
export type UnaryHandler = (request: Message, signal: AbortSignal) => Promise<Message>;

/**
 * One server-streaming method: `send` writes a message; the returned promise settles when the
 * stream ends (an error ends it with its status). `signal` aborts when the client goes.
 */
export type StreamHandler = (
  request: Message,
  send: (m: Message) => void,
  signal: AbortSignal,
) => Promise<void>;

/** Messages a server stream may hold for a client that does not read before it is ended. */
export const MAX_STREAM_BACKLOG = 1024;

/** One service to serve: its definition and its handlers by method name (`RunPodSandbox`). */
export interface ServedService {
  definition: ServiceDefinition;
  handlers: Readonly<Record<string, UnaryHandler>>;
  /** Its server-streaming methods (`GetContainerEvents`). */
  streams?: Readonly<Record<string, StreamHandler>>;
}

/** A gRPC server answering the connections handed to it. */
export interface GrpcServer {
  /** Serves one accepted connection (gRPC over HTTP/2, cleartext). */
  accept(connection: Duplex): void;
  /** Lets calls under way finish for a moment, then closes every connection. */
  close(): Promise<void>;
}

function unary(
  name: string,
  handler: UnaryHandler,
  log: (msg: string, fields?: Record<string, unknown>) => void,
) {
  return (call: ServerUnaryCall<Message, Message>, callback: sendUnaryData<Message>) => {
    const abort = new AbortController();
    call.on("cancelled", () => abort.abort(new Error(`${name}: the call was cancelled`)));
    handler(call.request ?? {}, abort.signal).then(
      (response) => callback(null, response),
      (err: Error) => {
        const code = grpcStatusOf(err);
        if (code === 2) log("CRI call failed", { method: name, error: err.message });
        callback({ code, details: err.message });
      },
    );
  };
}

function serverStream(
  name: string,
  handler: StreamHandler,
  log: (msg: string, fields?: Record<string, unknown>) => void,
) {
  return (call: ServerWritableStream<Message, Message>) => {
    const abort = new AbortController();
    const fail = (err: Error) => {
      if (abort.signal.aborted) return;
      abort.abort(err);
      const code = grpcStatusOf(err);
      if (code === 2) log("CRI stream failed", { method: name, error: err.message });
      call.emit("error", { code, details: err.message });
    };
    call.on("cancelled", () => abort.abort(new Error(`${name}: the call was cancelled`)));
    const send = (m: Message) => {
      if (abort.signal.aborted) return;
      // A client that stops reading is ended, not buffered for without bound.
      if (call.writableLength >= MAX_STREAM_BACKLOG)
        return fail(new CriError("RESOURCE_EXHAUSTED", `${name}: the client does not read its stream`));
      call.write(m);
    };
    handler(call.request ?? {}, send, abort.signal).then(
      () => {
        if (!abort.signal.aborted) call.end();
      },
      (err: Error) => fail(err),
    );
  };
}

/** A gRPC server for `services`, on the connections given to its `accept`. */
export function grpcServer(
  services: readonly ServedService[],
  opts: { log?: (msg: string, fields?: Record<string, unknown>) => void } = {},
): GrpcServer {
  const log = opts.log ?? (() => {});
  // grpc-js's own messages go to the daemon's log (one JSON object per line), not raw to stderr.
  setLogger({
    error: (...args: unknown[]) => log("grpc", { detail: args.map(String).join(" ") }),
    info: () => {},
    debug: () => {},
  });
  const server = new Server({
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_concurrent_streams": 128,
  });
  for (const s of services) {
    const impl: UntypedServiceImplementation = {};
    for (const [name, handler] of Object.entries(s.handlers)) {
      if (!(name in s.definition)) throw new Error(`CRI: no method ${name} in the service`);
      impl[name] = unary(name, handler, log);
    }
    for (const [name, handler] of Object.entries(s.streams ?? {})) {
      if (!s.definition[name]?.responseStream)
        throw new Error(`CRI: no streaming method ${name} in the service`);
      impl[name] = serverStream(name, handler, log);
    }
    server.addService(s.definition, impl);
  }
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  return {
    accept: (connection) => {
      injector.injectConnection(connection);
      // Accepted paused (nothing read yet): HTTP/2 has taken the socket over, its reading starts now.
      connection.resume();
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Calls under way get a moment; then the connections go.
        const timer = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
