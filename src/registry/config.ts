import { readFileSync } from "node:fs";
import type { AccessPolicy } from "./auth/access.js";
import type { AuthMode, LoginFailureLimit } from "./auth/authorizer.js";
import { RegistryError } from "./errors.js";
import { compileTrustRules, type TrustRule } from "./trust.js";

/**
 * The registry's whole configuration. The config file is this shape as JSON, every field
 * optional; `loadRegistryConfig` documents precedence (defaults < file < environment < flags).
 *
 * ```json
 * {
 *   "addr": "127.0.0.1:5000",
 *   "root": "/var/lib/pier/registry",
 *   "tls": { "cert": "/etc/pier/registry.crt", "key": "/etc/pier/registry.key" },
 *   "auth": {
 *     "mode": "token",
 *     "htpasswd": "/etc/pier/htpasswd",
 *     "token": { "service": "pier-registry", "issuer": "pier", "key": "/etc/pier/token.pem", "expiresIn": 300 },
 *     "access": {
 *       "anonymousPull": true,
 *       "groups": { "devs": ["alice", "bob"] },
 *       "rules": [{ "repositories": ["team/**"], "groups": ["devs"], "actions": ["pull", "push"] }]
 *     },
 *     "loginFailures": { "perMinute": 10, "burst": 10 }
 *   },
 *   "storage": { "delete": true, "maxManifestBytes": 4194304, "maxBlobBytes": 0, "autoCrossMount": true },
 *   "http": {
 *     "headersTimeoutMs": 20000, "requestTimeoutMs": 0, "idleTimeoutMs": 120000, "keepAliveTimeoutMs": 65000,
 *     "minBodyBytesPerSecond": 1024, "bodyRateGraceMs": 30000, "maxConnections": 0, "maxConnectionsPerClient": 256
 *   },
 *   "metrics": { "addr": "" },
 *   "rateLimit": { "requestsPerSecond": 0, "burst": 0 },
 *   "gc": { "graceSeconds": 3600 },
 *   "log": { "access": true },
 *   "cacheBytes": 67108864
 * }
 * ```
 */
export interface RegistryConfig {
  /** `host:port` to listen on (loopback by default; port 0 picks a free one). */
  addr: string;
  /** Directory of the registry's data: `content/` (blobs, an OCI layout) and `metadata.db`. */
  root: string;
  /** Serve HTTPS with this certificate and key (PEM files). */
  tls?: { cert: string; key: string };
  auth: {
    mode: AuthMode;
    /** htpasswd file with bcrypt hashes (needed by `basic` and `token`). */
    htpasswd?: string;
    token?: { realm?: string; service?: string; issuer?: string; key?: string; expiresIn?: number };
    access?: AccessPolicy;
    /**
     * Failed logins a client address may make: `burst` at once, then `perMinute`; beyond, its
     * logins are refused (429, `Retry-After`) without checking the password. 0 disables.
     */
    loginFailures?: LoginFailureLimit;
  };
  storage: {
    /** Allow `DELETE` of manifests, tags and blobs. */
    delete: boolean;
    /** Largest manifest accepted (spec suggests 4 MiB). */
    maxManifestBytes: number;
    /** Largest blob accepted, 0 for no limit beyond free disk space. */
    maxBlobBytes: number;
    /**
     * Automatic content discovery: a mount (`POST …/blobs/uploads/?mount=<digest>`) without
     * `from` links the blob from any repository that holds it and that the caller may pull.
     */
    autoCrossMount: boolean;
  };
  http: {
    /** Time a client has to send all request headers (slow-header clients are cut off). */
    headersTimeoutMs: number;
    /** Time a whole request may take, 0 for none (large blob uploads take long). */
    requestTimeoutMs: number;
    /** A connection silent this long is closed (a client that claims a huge body and stalls). */
    idleTimeoutMs: number;
    keepAliveTimeoutMs: number;
    /**
     * A request body slower than this on average (measured once it has run for
     * `bodyRateGraceMs`) is cut off with 408: a client trickling a byte now and then holds no
     * connection for long. 0 disables.
     */
    minBodyBytesPerSecond: number;
    /** How long a request body runs before `minBodyBytesPerSecond` applies to it. */
    bodyRateGraceMs: number;
    /**
     * Open connections at most; more are answered 503 and closed. 0 picks half the process's
     * open-file limit (each connection may need a socket and a file), at most 16384.
     */
    maxConnections: number;
    /** Open connections at most from one client address (an IPv6 /64 counts as one); more get 503. */
    maxConnectionsPerClient: number;
  };
  /**
   * Where `/metrics` is served: `""` on the registry's own address, behind its auth (any user
   * with valid credentials); else a separate `host:port` (meant to be private) serving only
   * `/metrics` and `/healthz` without auth, and the registry's address then has no `/metrics`.
   */
  metrics: { addr: string };
  /** Per-client-address token bucket; `requestsPerSecond` 0 disables it. */
  rateLimit: { requestsPerSecond: number; burst: number };
  gc: {
    /** Blobs published or touched more recently than this are never collected (in-flight pushes). */
    graceSeconds: number;
  };
  log: { access: boolean };
  /** Bytes of manifests kept in memory. */
  cacheBytes: number;
  /**
   * Repositories served only when signed: `[{ "repositories": "prod/*", "keys": ["-----BEGIN PUBLIC KEY-----…"] }]`
   * (a key may also be a PEM file path). See `trust.ts`.
   */
  trust?: TrustRule[];
}

/** A partial config, as a file, the environment or flags give it. */
export type RegistryConfigInput = {
  [K in keyof RegistryConfig]?: RegistryConfig[K] extends object
    ? Partial<RegistryConfig[K]>
    : RegistryConfig[K];
};

/** The defaults: loopback, no auth, deletes allowed, 4 MiB manifests. */
export function defaultRegistryConfig(): RegistryConfig {
  return {
    addr: "127.0.0.1:5000",
    root: "/var/lib/pier/registry",
    auth: { mode: "none" },
    storage: { delete: true, maxManifestBytes: 4 << 20, maxBlobBytes: 0, autoCrossMount: true },
    http: {
      headersTimeoutMs: 20_000,
      requestTimeoutMs: 0,
      idleTimeoutMs: 120_000,
      keepAliveTimeoutMs: 65_000,
      minBodyBytesPerSecond: 1024,
      bodyRateGraceMs: 30_000,
      maxConnections: 0,
      maxConnectionsPerClient: 256,
    },
    metrics: { addr: "" },
    rateLimit: { requestsPerSecond: 0, burst: 0 },
    gc: { graceSeconds: 3600 },
    log: { access: true },
    cacheBytes: 64 << 20,
  };
}

function merge(base: RegistryConfig, input: RegistryConfigInput): RegistryConfig {
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    const cur = out[k];
    out[k] =
      typeof v === "object" && v !== null && !Array.isArray(v) && typeof cur === "object" && cur !== null
        ? { ...cur, ...v }
        : v;
  }
  return out as unknown as RegistryConfig;
}

/** A boolean environment variable: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`; anything else is refused. */
function envBool(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new RegistryError("UNSUPPORTED", `registry config: ${name} must be true or false, got ${raw}`, {
    status: 500,
  });
}

/**
 * Reads the config the environment gives: `PIER_REGISTRY_ADDR`, `_ROOT`, `_AUTH`, `_HTPASSWD`,
 * `_TLS_CERT`, `_TLS_KEY`, `_METRICS_ADDR`, `_AUTO_CROSS_MOUNT` (true/false).
 */
export function configFromEnv(env: NodeJS.ProcessEnv): RegistryConfigInput {
  const input: RegistryConfigInput = {};
  if (env.PIER_REGISTRY_ADDR) input.addr = env.PIER_REGISTRY_ADDR;
  if (env.PIER_REGISTRY_ROOT) input.root = env.PIER_REGISTRY_ROOT;
  const auth: Partial<RegistryConfig["auth"]> = {};
  if (env.PIER_REGISTRY_AUTH) auth.mode = env.PIER_REGISTRY_AUTH as AuthMode;
  if (env.PIER_REGISTRY_HTPASSWD) auth.htpasswd = env.PIER_REGISTRY_HTPASSWD;
  if (Object.keys(auth).length > 0) input.auth = auth;
  if (env.PIER_REGISTRY_METRICS_ADDR !== undefined) input.metrics = { addr: env.PIER_REGISTRY_METRICS_ADDR };
  const autoCrossMount = envBool(env, "PIER_REGISTRY_AUTO_CROSS_MOUNT");
  if (autoCrossMount !== undefined) input.storage = { autoCrossMount };
  if (env.PIER_REGISTRY_TLS_CERT && env.PIER_REGISTRY_TLS_KEY) {
    input.tls = { cert: env.PIER_REGISTRY_TLS_CERT, key: env.PIER_REGISTRY_TLS_KEY };
  }
  return input;
}

/** Checks a merged config, naming the first bad field. */
export function checkRegistryConfig(config: RegistryConfig): RegistryConfig {
  const bad = (msg: string): never => {
    throw new RegistryError("UNSUPPORTED", `registry config: ${msg}`, { status: 500 });
  };
  if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(config.addr))
    bad(`addr must be host:port, got ${config.addr}`);
  if (!["none", "basic", "token"].includes(config.auth.mode)) bad(`auth.mode must be none, basic or token`);
  if (config.auth.mode !== "none" && !config.auth.htpasswd)
    bad(`auth.mode ${config.auth.mode} needs auth.htpasswd`);
  if (config.tls && (!config.tls.cert || !config.tls.key)) bad("tls needs both cert and key");
  if (!(config.storage.maxManifestBytes > 0)) bad("storage.maxManifestBytes must be positive");
  if (typeof config.storage.autoCrossMount !== "boolean") bad("storage.autoCrossMount must be true or false");
  const count = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  for (const k of [
    "minBodyBytesPerSecond",
    "bodyRateGraceMs",
    "maxConnections",
    "maxConnectionsPerClient",
  ] as const) {
    if (!count(config.http[k])) bad(`http.${k} must be a non-negative integer`);
  }
  if (config.http.maxConnectionsPerClient === 0) bad("http.maxConnectionsPerClient must be positive");
  const failures = config.auth.loginFailures;
  if (failures !== undefined && !(count(failures.perMinute) && count(failures.burst)))
    bad("auth.loginFailures needs non-negative integers perMinute and burst");
  if (config.metrics.addr !== "" && !/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(config.metrics.addr))
    bad(`metrics.addr must be host:port or empty, got ${config.metrics.addr}`);
  if (config.trust !== undefined) compileTrustRules(config.trust);
  return config;
}

/**
 * Builds the effective config: defaults, then the JSON file (`file`, or `PIER_REGISTRY_CONFIG`),
 * then the environment, then `overrides` (the CLI's flags). Throws naming a bad field or file.
 */
export function loadRegistryConfig(
  options: { file?: string; env?: NodeJS.ProcessEnv; overrides?: RegistryConfigInput } = {},
): RegistryConfig {
  const env = options.env ?? process.env;
  let config = defaultRegistryConfig();
  const file = options.file ?? env.PIER_REGISTRY_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new RegistryError("UNSUPPORTED", `registry config ${file}: ${(err as Error).message}`, {
        status: 500,
      });
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new RegistryError("UNSUPPORTED", `registry config ${file}: must be a JSON object`, {
        status: 500,
      });
    }
    config = merge(config, parsed as RegistryConfigInput);
  }
  config = merge(config, configFromEnv(env));
  if (options.overrides) config = merge(config, options.overrides);
  return checkRegistryConfig(config);
}
