/**
 * The HTTP plumbing under the registry client: one keep-alive connection pool (undici `Agent`)
 * per client, TLS with the system CAs plus an optional extra CA, redirects followed without
 * leaking credentials to another host, and retries with backoff on 429, 5xx and broken
 * connections, honouring `Retry-After`. undici is loaded at the first request: it costs a
 * resident daemon (pierd) about 18 MiB to load, and one that never pulls never needs it.
 */
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { Agent, Dispatcher } from "undici";
import { RemoteError } from "./error.js";
import {
  DEFAULT_RETRY_POLICY,
  isConnectionRefused,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  retryDelay,
} from "./retry.js";

/** A request body; a factory so that a retry can send it again from the start. */
export type BodyFactory = () => Promise<Buffer | string | Readable> | Buffer | string | Readable;

/** One request as the registry client describes it. */
export interface HttpRequest {
  method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  body?: BodyFactory;
  /** Send once: for requests whose server-side effect cannot be repeated safely (upload chunks). */
  noRetry?: boolean;
}

/** A response whose body the caller must consume or dump. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
  /** The URL that answered (after redirects). */
  url: string;
}

/** Connection settings. */
export interface HttpOptions {
  /** Extra CA certificates (PEM) trusted in addition to the system's. */
  caCert?: string | Buffer | readonly (string | Buffer)[];
  /** Client certificate and key (PEM), for a registry that asks for one (certs.d's `*.cert`/`*.key`). */
  clientCert?: { cert: string | Buffer; key: string | Buffer };
  /** Headers sent with every request (hosts.toml's `header`). */
  headers?: Record<string, string>;
  /** Accept any TLS certificate: only for a registry registries.conf marks `insecure`. */
  skipVerify?: boolean;
  /** Retry policy; default {@link DEFAULT_RETRY_POLICY}. */
  retry?: RetryPolicy;
  /** Maximum parallel connections per origin. */
  connections?: number;
  /** Sent as `User-Agent`. */
  userAgent?: string;
  /** Called before each retry wait (for logs and tests). */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string; url: string }) => void;
}

let undici: Promise<typeof import("undici")> | undefined;

/** undici, imported once, at the first request of any client. */
function loadUndici(): Promise<typeof import("undici")> {
  undici ??= import("undici");
  return undici;
}

/** First header value, lower-case name lookup. */
export function header(res: { headers: HttpResponse["headers"] }, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * A pooled HTTP client. `send` follows redirects and retries; it never interprets registry
 * semantics (auth, errors) — that is the registry client's job.
 */
export class HttpClient {
  /** The connection pool, made at the first request (see {@link loadUndici}). */
  private agent: Agent | undefined;
  private readonly agentOptions: Agent.Options & { connect: Record<string, unknown> };
  /** CA certificates trusted besides the system's, joined to them when the agent is made. */
  private readonly extraCa: string[] | undefined;
  private readonly retry: RetryPolicy;
  private readonly userAgent: string;
  private readonly onRetry: HttpOptions["onRetry"];
  private readonly headers: Record<string, string>;
  /** Origins that sent a response to this client (a refused connection to them is retried). */
  private readonly answered = new Set<string>();

  constructor(opts: HttpOptions = {}) {
    const connect: Record<string, unknown> = {};
    if (opts.caCert) {
      const extra = Array.isArray(opts.caCert) ? opts.caCert : [opts.caCert];
      this.extraCa = extra.map((c) => c.toString());
    }
    if (opts.clientCert) {
      connect["cert"] = opts.clientCert.cert;
      connect["key"] = opts.clientCert.key;
    }
    if (opts.skipVerify) connect["rejectUnauthorized"] = false;
    this.agentOptions = {
      connections: opts.connections ?? 16,
      keepAliveTimeout: 30_000,
      connect,
      bodyTimeout: 120_000,
      headersTimeout: 120_000,
    };
    this.retry = opts.retry ?? DEFAULT_RETRY_POLICY;
    this.userAgent = opts.userAgent ?? "pier/0.1";
    this.onRetry = opts.onRetry;
    this.headers = opts.headers ?? {};
  }

  /**
   * Sends a request, following up to 5 redirects (the `Authorization` header is dropped when a
   * redirect leaves the origin) and retrying retryable failures. Resolves with the final
   * response, whatever its status, once retries are exhausted.
   */
  async send(req: HttpRequest): Promise<HttpResponse> {
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.sendOnce(req);
      } catch (err) {
        // A refused connection to a registry that never answered is a wrong address or a registry
        // that is down: one clear error now (as docker), not retries over seconds. One that
        // answered before is retried (it may be restarting).
        const unreachable = isConnectionRefused(err) && !this.answered.has(new URL(req.url).origin);
        const delay =
          !req.noRetry && !unreachable && isRetryableNetworkError(err)
            ? retryDelay(attempt, undefined, this.retry)
            : undefined;
        if (delay === undefined) {
          throw new RemoteError("NETWORK", `${req.method} ${req.url}: ${(err as Error).message}`, {
            cause: err,
          });
        }
        this.onRetry?.({ attempt, delayMs: delay, reason: (err as Error).message, url: req.url });
        await sleep(delay);
        continue;
      }
      if (!req.noRetry && isRetryableStatus(res.status)) {
        const delay = retryDelay(attempt, parseRetryAfter(header(res, "retry-after")), this.retry);
        if (delay !== undefined) {
          await res.body.dump().catch(() => undefined);
          this.onRetry?.({ attempt, delayMs: delay, reason: `HTTP ${res.status}`, url: req.url });
          await sleep(delay);
          continue;
        }
      }
      return res;
    }
  }

  private async sendOnce(req: HttpRequest): Promise<HttpResponse> {
    let url = req.url;
    let method = req.method;
    let headers: Record<string, string> = { "user-agent": this.userAgent, ...this.headers, ...req.headers };
    let body = req.body ? await req.body() : undefined;
    const { Agent, request } = await loadUndici();
    if (!this.agent && this.extraCa) {
      // Extra CA is added to, not substituted for, the system's (as docker's certs.d does); node:tls
      // is loaded here, not by every process that may one day pull (pierd at start).
      const { rootCertificates } = await import("node:tls");
      this.agentOptions.connect["ca"] = [...rootCertificates, ...this.extraCa];
    }
    this.agent ??= new Agent(this.agentOptions);
    for (let hop = 0; hop <= 5; hop++) {
      const r = await request(url, { method, headers, body: body ?? null, dispatcher: this.agent });
      this.answered.add(new URL(url).origin);
      const res: HttpResponse = { status: r.statusCode, headers: r.headers, body: r.body, url };
      if (![301, 302, 303, 307, 308].includes(r.statusCode)) return res;
      const location = header(res, "location");
      if (!location) return res;
      await r.body.dump().catch(() => undefined);
      const next = new URL(location, url);
      if (next.origin !== new URL(url).origin) {
        const { authorization: _drop, ...rest } = headers;
        headers = rest;
      }
      if (r.statusCode === 303 || ((r.statusCode === 301 || r.statusCode === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
      } else if (req.body && body !== undefined && typeof body === "object" && !Buffer.isBuffer(body)) {
        body = await req.body();
      }
      url = next.toString();
    }
    throw new RemoteError("INVALID_RESPONSE", `${req.method} ${req.url}: too many redirects`);
  }

  /** Closes every pooled connection, letting requests under way finish. */
  async close(): Promise<void> {
    await this.agent?.close();
  }

  /** Closes every pooled connection at once, failing requests under way. */
  async destroy(): Promise<void> {
    await this.agent?.destroy();
  }
}
