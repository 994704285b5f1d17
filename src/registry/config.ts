import { readFileSync } from "node:fs";
import type { AccessPolicy } from "./auth/access.js";
import type { AuthMode } from "./auth/authorizer.js";
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
 *     }
 *   },
 *   "storage": { "delete": true, "maxManifestBytes": 4194304, "maxBlobBytes": 0 },
 *   "http": { "headersTimeoutMs": 20000, "requestTimeoutMs": 0, "idleTimeoutMs": 120000, "keepAliveTimeoutMs": 65000 },
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
  };
  storage: {
    /** Allow `DELETE` of manifests, tags and blobs. */
    delete: boolean;
    /** Largest manifest accepted (spec suggests 4 MiB). */
    maxManifestBytes: number;
    /** Largest blob accepted, 0 for no limit beyond free disk space. */
    maxBlobBytes: number;
  };
  http: {
    /** Time a client has to send all request headers (slow-header clients are cut off). */
    headersTimeoutMs: number;
    /** Time a whole request may take, 0 for none (large blob uploads take long). */
    requestTimeoutMs: number;
    /** A connection silent this long is closed (a client that claims a huge body and stalls). */
    idleTimeoutMs: number;
    keepAliveTimeoutMs: number;
  };
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
    storage: { delete: true, maxManifestBytes: 4 << 20, maxBlobBytes: 0 },
    http: {
      headersTimeoutMs: 20_000,
      requestTimeoutMs: 0,
      idleTimeoutMs: 120_000,
      keepAliveTimeoutMs: 65_000,
    },
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

/** Reads the config the environment gives: `PIER_REGISTRY_ADDR`, `_ROOT`, `_AUTH`, `_HTPASSWD`, `_TLS_CERT`, `_TLS_KEY`. */
export function configFromEnv(env: NodeJS.ProcessEnv): RegistryConfigInput {
  const input: RegistryConfigInput = {};
  if (env.PIER_REGISTRY_ADDR) input.addr = env.PIER_REGISTRY_ADDR;
  if (env.PIER_REGISTRY_ROOT) input.root = env.PIER_REGISTRY_ROOT;
  const auth: Partial<RegistryConfig["auth"]> = {};
  if (env.PIER_REGISTRY_AUTH) auth.mode = env.PIER_REGISTRY_AUTH as AuthMode;
  if (env.PIER_REGISTRY_HTPASSWD) auth.htpasswd = env.PIER_REGISTRY_HTPASSWD;
  if (Object.keys(auth).length > 0) input.auth = auth;
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
