import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { LocalContentStore } from "../content/local-store.js";
import type { ContentStore } from "../content/store.js";
import { AccessController } from "./auth/access.js";
import { Authorizer, type Need } from "./auth/authorizer.js";
import { Htpasswd } from "./auth/htpasswd.js";
import { TokenIssuer } from "./auth/token.js";
import { deleteBlob, getBlob, headBlob } from "./blobs.js";
import type { RegistryConfig } from "./config.js";
import { ConnectionGate, clientKey, openFileLimit } from "./connection-gate.js";
import type { Exchange, RegistryContext } from "./context.js";
import { errorBody, RegistryError } from "./errors.js";
import { pruneRegistryIngest } from "./gc.js";
import {
  type DrainLimits,
  deferContinue,
  isAwaitingContinue,
  send,
  sendBeforeBody,
  sendJson,
} from "./http-util.js";
import { listCatalog, listReferrers, listTags } from "./listing.js";
import { ByteLru } from "./lru.js";
import { deleteManifest, getManifest, putManifest } from "./manifests.js";
import { RegistryMetadata } from "./metadata.js";
import { METRICS_CONTENT_TYPE, RegistryMetrics } from "./metrics.js";
import { checkRepositoryName } from "./names.js";
import { RateLimiter } from "./rate-limit.js";
import { RegistryResponse } from "./response.js";
import { parseRoute, type Route } from "./routes.js";
import { deleteUpload, getUpload, patchUpload, postUpload, putUpload } from "./uploads.js";

/** A registry that is serving; `close` stops accepting, lets requests in flight finish, then closes the stores. */
export interface RunningRegistry {
  /** Base URL, e.g. `http://127.0.0.1:5000`. */
  readonly url: string;
  /** `host:port` as clients address it (for image references). */
  readonly host: string;
  readonly port: number;
  readonly config: RegistryConfig;
  /** Base URL of the separate metrics listener, when `config.metrics.addr` asks for one. */
  readonly metricsUrl: string | undefined;
  /**
   * Graceful shutdown: stops accepting, lets requests in flight finish for up to `graceMs`
   * (default 10 s; an upload cut off then resumes later), then closes the stores.
   */
  close(graceMs?: number): Promise<void>;
}

/** What the caller may inject instead of the defaults. */
export interface StartRegistryOptions {
  /** Blob store (default: a `LocalContentStore` at `<root>/content`). */
  store?: ContentStore;
  /** Receives each JSON log line (default: standard error). */
  log?: (line: string) => void;
}

/** Splits `host:port` (`[v6]:port` for IPv6). */
export function splitAddr(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(":");
  let host = addr.slice(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return { host, port: Number(addr.slice(colon + 1)) };
}

function need(route: Route, method: string): Need | "unsupported" {
  switch (route.kind) {
    case "base":
      return method === "GET" || method === "HEAD" ? { action: "base" } : "unsupported";
    case "catalog":
      return method === "GET" ? { action: "catalog" } : "unsupported";
    case "tags":
    case "referrers":
      return method === "GET" ? { repo: route.name, action: "pull" } : "unsupported";
    case "manifest":
      if (method === "GET" || method === "HEAD") return { repo: route.name, action: "pull" };
      if (method === "PUT") return { repo: route.name, action: "push" };
      return method === "DELETE" ? { repo: route.name, action: "delete" } : "unsupported";
    case "blob":
      if (method === "GET" || method === "HEAD") return { repo: route.name, action: "pull" };
      return method === "DELETE" ? { repo: route.name, action: "delete" } : "unsupported";
    case "uploadStart":
      return method === "POST" ? { repo: route.name, action: "push" } : "unsupported";
    case "upload":
      return ["GET", "PATCH", "PUT", "DELETE"].includes(method)
        ? { repo: route.name, action: "push" }
        : "unsupported";
    default:
      return "unsupported";
  }
}

/** Runs the route's handler: `undefined` when it answered already, else the promise of its answer. */
function dispatch(
  ctx: RegistryContext,
  route: Route,
  ex: Exchange,
  method: string,
): Promise<void> | undefined {
  switch (route.kind) {
    case "base":
      sendJson(ex.res, 200, {});
      return undefined;
    case "catalog":
      listCatalog(ctx, ex);
      return undefined;
    case "tags":
      listTags(ctx, ex);
      return undefined;
    case "referrers":
      listReferrers(ctx, ex, route.digest);
      return undefined;
    case "manifest":
      if (method === "PUT") return putManifest(ctx, ex, route.reference);
      if (method === "DELETE") {
        deleteManifest(ctx, ex, route.reference);
        return undefined;
      }
      return getManifest(ctx, ex, route.reference, method === "HEAD");
    case "blob":
      if (method === "HEAD") {
        headBlob(ctx, ex, route.digest);
        return undefined;
      }
      if (method === "DELETE") {
        deleteBlob(ctx, ex, route.digest);
        return undefined;
      }
      return getBlob(ctx, ex, route.digest);
    case "uploadStart":
      return postUpload(ctx, ex);
    case "upload":
      if (method === "PATCH") return patchUpload(ctx, ex, route.id);
      if (method === "PUT") return putUpload(ctx, ex, route.id);
      if (method === "DELETE") return deleteUpload(ctx, ex, route.id);
      return getUpload(ctx, ex, route.id);
    default:
      throw new RegistryError("UNSUPPORTED", "no such endpoint", { status: 404 });
  }
}

const EMPTY_QUERY = new URLSearchParams();

// Names a connection the same whether it is the TCP socket or the TLS socket over it.
const peerOf = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`;

// A connection over a cap gets its 503 after reading at most this much of a body, and is
// closed after this long whatever it sends.
const REFUSED_DRAIN: DrainLimits = { maxBytes: 1 << 20, maxMs: 2000 };
const NO_DRAIN: DrainLimits = { maxBytes: 0, maxMs: 0 };

/**
 * The effective connection cap: `http.maxConnections`, or when 0 about half the open-file limit
 * (a connection may need a socket and a file), at most 16384. A cap the file limit cannot hold is
 * refused, naming both.
 */
export function connectionCap(config: RegistryConfig, fileLimit = openFileLimit()): number {
  const limit = fileLimit ?? 1024;
  // A few hundred files for the database, logs and the like; then a socket and a file each.
  if (config.http.maxConnections === 0) return Math.max(16, Math.min(16_384, Math.floor((limit - 256) / 2)));
  if (config.http.maxConnections > limit - 64) {
    throw new RegistryError(
      "UNSUPPORTED",
      `registry config: http.maxConnections ${config.http.maxConnections} needs more open files than this process may have (${limit}); raise the limit (ulimit -n) or lower http.maxConnections`,
      { status: 500 },
    );
  }
  return config.http.maxConnections;
}
const HOST = /^[\w.-]+(?::\d{1,5})?$|^\[[0-9a-fA-F:.]+\](?::\d{1,5})?$/;

/**
 * Starts a distribution-spec 1.1 registry (the model is distribution's `registry serve`): blobs
 * in a content store shared by all repositories, metadata in SQLite under `config.root`, HTTP or
 * HTTPS on `config.addr`, auth per `config.auth`, `/metrics` (Prometheus), `/healthz`, and with
 * token auth `/token`. Resolves once listening.
 */
export async function startRegistry(
  config: RegistryConfig,
  options: StartRegistryOptions = {},
): Promise<RunningRegistry> {
  const cap = connectionCap(config);
  await mkdir(config.root, { recursive: true });
  const store = options.store ?? (await LocalContentStore.open(join(config.root, "content")));
  const meta = RegistryMetadata.open(join(config.root, "metadata.db"));
  // What a crash left behind (a cut-off monolithic upload) is removed before serving; the data
  // of open upload sessions stays, so they resume.
  const pruned = await pruneRegistryIngest(store, meta);
  const log = options.log ?? ((line: string) => process.stderr.write(line));
  const mode = config.auth.mode;
  const htpasswd = mode === "none" ? undefined : Htpasswd.load(config.auth.htpasswd!);
  const tokenCfg = config.auth.token ?? {};
  const issuer =
    mode === "token"
      ? new TokenIssuer({
          issuer: tokenCfg.issuer ?? "pier",
          service: tokenCfg.service ?? "pier-registry",
          ...(tokenCfg.key ? { keyFile: tokenCfg.key } : {}),
          ...(tokenCfg.expiresIn ? { expiresIn: tokenCfg.expiresIn } : {}),
        })
      : undefined;
  const ctx: RegistryContext = {
    config,
    meta,
    store,
    cache: new ByteLru<string>(config.cacheBytes),
    auth: new Authorizer(
      mode,
      new AccessController(config.auth.access),
      htpasswd,
      issuer,
      config.auth.loginFailures,
    ),
    busyUploads: new Set(),
    refreshed: new Map(),
    prefix: "/v2/",
  };
  const gate = new ConnectionGate(cap, config.http.maxConnectionsPerClient);
  const metrics = new RegistryMetrics(() => gate.open);
  const limiter =
    config.rateLimit.requestsPerSecond > 0
      ? new RateLimiter(config.rateLimit.requestsPerSecond, config.rateLimit.burst)
      : undefined;
  const proto = config.tls ? "https" : "http";
  const idPrefix = randomBytes(4).toString("hex");
  let counter = 0;
  // Connections over a cap, by `address|port` (the same for a TLS socket and its TCP socket).
  const refused = new Map<string, "total" | "client">();
  const renderMetrics = async (res: ServerResponse) =>
    send(res, 200, { "Content-Type": METRICS_CONTENT_TYPE }, metrics.render());

  // The bookkeeping of an answered request: one function for the server, not a closure per
  // request (see response.ts). `finish` is Node's: the whole answer went to the kernel.
  function recordFinished(this: RegistryResponse): void {
    const seconds = (performance.now() - this.started) / 1000;
    const method = this.req.method ?? "GET";
    // A HEAD announces the length of a body it does not send.
    metrics.observe(
      method,
      this.route,
      this.statusCode,
      seconds,
      method === "HEAD" ? 0 : this.announcedBytes,
    );
    if (config.log.access) {
      const url = this.req.url ?? "/";
      const q = url.indexOf("?");
      log(
        `${JSON.stringify({ time: new Date().toISOString(), level: "info", msg: "request", id: this.requestId, method: this.req.method, path: q < 0 ? url : url.slice(0, q), route: this.route, status: this.statusCode, ms: Math.round(seconds * 1e4) / 10, user: this.user })}\n`,
      );
    }
  }

  /** `/metrics` behind the registry's auth. */
  const serveMetrics = async (req: IncomingMessage, res: RegistryResponse, client: string): Promise<void> => {
    res.user = await ctx.auth.authorizeMetrics(req.headers.authorization, client);
    await renderMetrics(res);
  };

  /** `/token` (Docker's token spec, GET flow). */
  const serveToken = async (
    req: IncomingMessage,
    res: RegistryResponse,
    query: URLSearchParams,
    client: string,
  ): Promise<void> => {
    const body = await ctx.auth.issueToken(req.headers.authorization, query, client);
    send(res, 200, { "Content-Type": "application/json" }, body);
  };

  /** The request once its identity is known: the handler of its route. */
  const serve = (
    req: IncomingMessage,
    res: RegistryResponse,
    route: Route,
    method: string,
    query: URLSearchParams,
    user: string | undefined,
    header: string | undefined,
    realm: string,
    client: string,
  ): Promise<void> | undefined => {
    res.user = user;
    const ex: Exchange = {
      req,
      res,
      name: "name" in route ? route.name : "",
      query,
      user,
      mayPull: (repo) =>
        ctx.auth.authorize(header, { repo, action: "pull" }, realm, client).then(
          () => true,
          () => false,
        ),
      canPull: (repo) => ctx.auth.canPull(user, repo),
    };
    return dispatch(ctx, route, ex, method);
  };

  /** Answers a request's error (see {@link respondError}); a connection over a cap is drained less. */
  const answerError = (req: IncomingMessage, res: RegistryResponse, err: unknown): void => {
    const over = refused.size === 0 ? undefined : refused.get(peerOf(req.socket));
    respondError(req, res, err, res.requestId, log, over !== undefined ? REFUSED_DRAIN : undefined);
  };

  /**
   * Answers one request. Synchronous as far as it can be: a manifest GET from the caches
   * without auth (the hot path) is answered before it returns, and no promise is made for it;
   * anything that waits returns its promise, which never rejects (its error is answered).
   */
  const handle = (req: IncomingMessage, res: RegistryResponse): Promise<void> | undefined => {
    res.started = performance.now();
    const given = req.headers["x-request-id"];
    const id = typeof given === "string" && /^[\w.-]{1,64}$/.test(given) ? given : `${idPrefix}-${++counter}`;
    res.requestId = id;
    res.on("finish", recordFinished);
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    // Only while some connection is over a cap does a request look itself up.
    const over = refused.size === 0 ? undefined : refused.get(peerOf(req.socket));
    const client = req.socket.remoteAddress ?? "";
    try {
      if (over !== undefined) {
        throw new RegistryError(
          "TOOMANYREQUESTS",
          over === "total"
            ? `this registry serves ${cap} connections at most; retry shortly`
            : `this client has ${config.http.maxConnectionsPerClient} connections open, the most allowed; retry shortly`,
          { status: 503, headers: { "Retry-After": "1" } },
        );
      }
      if (limiter && !limiter.take(client, Date.now())) {
        throw new RegistryError("TOOMANYREQUESTS", "too many requests from this client", {
          headers: { "Retry-After": "1" },
        });
      }
      const query = q < 0 ? EMPTY_QUERY : new URLSearchParams(url.slice(q + 1));
      if (path === "/healthz") {
        res.route = "healthz";
        sendJson(res, 200, { status: "ok" });
        return undefined;
      }
      if (path === "/metrics") {
        res.route = "metrics";
        if (config.metrics.addr !== "")
          throw new RegistryError("UNSUPPORTED", "metrics are served on their own address", { status: 404 });
        return serveMetrics(req, res, client).catch((err: unknown) => answerError(req, res, err));
      }
      if (path === "/token") {
        res.route = "token";
        // Only the GET flow of Docker's token spec; a 404 to the OAuth2 POST makes clients fall back to it.
        if (method !== "GET")
          throw new RegistryError("UNSUPPORTED", "use GET /token with Basic credentials", { status: 404 });
        return serveToken(req, res, query, client).catch((err: unknown) => answerError(req, res, err));
      }
      const route = parseRoute(path);
      res.route = route.kind;
      if (route.kind === "notFound")
        throw new RegistryError("UNSUPPORTED", `no such endpoint ${path}`, { status: 404 });
      if ("name" in route) checkRepositoryName(route.name);
      const needed = need(route, method);
      if (needed === "unsupported") {
        throw new RegistryError("UNSUPPORTED", `${method} is not supported on ${route.kind}`, {
          status: 405,
        });
      }
      const header = req.headers.authorization;
      // Without auth every request is anonymous: no promise to wait for, no challenge to build.
      if (mode === "none") {
        return serve(req, res, route, method, query, undefined, header, "", client)?.catch((err: unknown) =>
          answerError(req, res, err),
        );
      }
      // The Host header is the client's; only a plain host[:port] goes into the challenge.
      const host = req.headers.host;
      const realm =
        tokenCfg.realm ?? `${proto}://${host !== undefined && HOST.test(host) ? host : "localhost"}/token`;
      return ctx.auth
        .authorize(header, needed, realm, client)
        .then((user) => serve(req, res, route, method, query, user, header, realm, client))
        .catch((err: unknown) => answerError(req, res, err));
    } catch (err) {
      answerError(req, res, err);
      return undefined;
    }
  };

  const serverOptions: http.ServerOptions<typeof IncomingMessage, typeof RegistryResponse> = {
    ServerResponse: RegistryResponse,
    // Check header and request deadlines often, so a slow-header client is cut off on time.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, config.http.headersTimeoutMs / 4)),
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    headersTimeout: config.http.headersTimeoutMs,
    requestTimeout: config.http.requestTimeoutMs,
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    // Last resort: a failure while answering an error must not take the server down.
    try {
      handle(req, res as RegistryResponse)?.catch(() => res.destroy());
    } catch {
      res.destroy();
    }
  };
  const server = config.tls
    ? https.createServer(
        { ...serverOptions, cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) },
        listener,
      )
    : http.createServer(serverOptions, listener);
  // With a listener, Node leaves `100 Continue` to us: it goes out when a handler reads the body.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    deferContinue(req, res);
    listener(req, res);
  });
  // Inactivity, not duration: a 10 GB upload may take long, a stalled one is cut off.
  server.setTimeout(config.http.idleTimeoutMs, (socket) => socket.destroy());
  // Every connection counts against the caps from its first byte. One over a cap is answered
  // 503 once its request arrives (see `handle`) and closed soon whatever it does; past a
  // margin over the cap, sockets are closed at once, as even answering costs a file.
  const hardCap = cap + Math.max(64, Math.floor(cap / 8));
  server.on("connection", (socket: Socket) => {
    const key = clientKey(socket.remoteAddress);
    const peer = peerOf(socket);
    const verdict = gate.admit(key);
    socket.once("close", () => {
      gate.release(key);
      refused.delete(peer);
    });
    if (verdict === "ok") return;
    metrics.refusedConnection(verdict);
    if (gate.open > hardCap) {
      socket.destroy();
      return;
    }
    refused.set(peer, verdict);
    setTimeout(() => socket.destroy(), REFUSED_DRAIN.maxMs + 8000).unref();
  });
  const { host, port } = splitAddr(config.addr);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const hostPort = `${host.includes(":") ? `[${host}]` : host}:${actual}`;
  const url = `${proto}://${hostPort}`;
  // A metrics address that cannot be listened on fails the start, and the registry's listener
  // with it.
  const metricsServer =
    config.metrics.addr === ""
      ? undefined
      : await listenMetrics(config.metrics.addr, renderMetrics).catch((err: unknown) => {
          server.close();
          meta.close();
          throw err;
        });
  const metricsUrl = metricsServer?.url;
  log(
    `${JSON.stringify({ time: new Date().toISOString(), level: "info", msg: "registry listening", url, root: config.root, auth: mode, maxConnections: cap, ingestPruned: pruned.length })}\n`,
  );
  let closing: Promise<void> | undefined;
  return {
    url,
    host: hostPort,
    port: actual,
    config,
    metricsUrl,
    close(graceMs = 10_000) {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }).then(async () => {
        await metricsServer?.close();
        await ctx.auth.close();
        meta.close();
        log(
          `${JSON.stringify({ time: new Date().toISOString(), level: "info", msg: "registry stopped", url })}\n`,
        );
      });
      return closing;
    },
  };
}

function respondError(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  id: string,
  log: (l: string) => void,
  drain?: DrainLimits,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  let rerr: RegistryError;
  if (err instanceof RegistryError) {
    rerr = err;
  } else {
    // A client that disconnected mid-body is not the server's fault, and gets no answer.
    if (req.destroyed) return;
    log(
      `${JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "request failed", id, error: String((err as Error)?.stack ?? err) })}\n`,
    );
    rerr = new RegistryError("UNKNOWN", `internal error (request ${id})`);
  }
  const headers: Record<string, string> = { "Content-Type": "application/json", ...rerr.headers };
  // An unread body is read and discarded, up to a bound, before the connection closes: else the
  // client may lose the answer (see `sendBeforeBody`). Not so a body too slow to wait for (408),
  // nor one the client holds back as it still waits for `100 Continue`.
  if (!req.complete)
    sendBeforeBody(
      req,
      res,
      rerr.status,
      headers,
      errorBody(rerr),
      rerr.status === 408 || isAwaitingContinue(req) ? NO_DRAIN : drain,
    );
  else send(res, rerr.status, headers, errorBody(rerr));
}

/**
 * The separate metrics listener (`metrics.addr`): `/metrics` and `/healthz` only, without auth,
 * for an address that only the monitoring system reaches.
 */
async function listenMetrics(
  addr: string,
  render: (res: ServerResponse) => Promise<void>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      render(res).catch(() => res.destroy());
    } else if (path === "/healthz") {
      sendJson(res, 200, { status: "ok" });
    } else {
      sendJson(res, 404, {
        errors: [{ code: "UNSUPPORTED", message: "only /metrics and /healthz here", detail: {} }],
      });
    }
  });
  const { host, port } = splitAddr(addr);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
