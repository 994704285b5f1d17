import type { IncomingMessage, ServerResponse } from "node:http";
import type { ContentStore } from "../content/store.js";
import type { Authorizer } from "./auth/authorizer.js";
import type { RegistryConfig } from "./config.js";
import type { RegistryErrorCode } from "./errors.js";
import type { BodyPace } from "./http-util.js";
import type { ByteLru } from "./lru.js";
import type { RegistryMetadata } from "./metadata.js";

/** Everything a request handler needs: the stores, the config and the shared caches. */
export interface RegistryContext {
  readonly config: RegistryConfig;
  readonly meta: RegistryMetadata;
  readonly store: ContentStore;
  /** Manifest bodies by digest. */
  readonly cache: ByteLru<string>;
  readonly auth: Authorizer;
  /** When this process last refreshed a blob's GC grace time, by digest (bounded). */
  readonly refreshed: Map<string, number>;
  /** Upload sessions a request is working on right now (one at a time per session). */
  readonly busyUploads: Set<string>;
  /** Base URL path prefix for `Location` headers (always `/v2/`). */
  readonly prefix: "/v2/";
}

/** One request on its way through a handler. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Repository name, checked against the grammar. */
  readonly name: string;
  readonly query: URLSearchParams;
  /** The authenticated user, `undefined` for anonymous. */
  readonly user: string | undefined;
  /** Authorizes an extra need (cross-repository mount reads `from`); `false` when refused. */
  readonly mayPull: (repo: string) => Promise<boolean>;
  /**
   * Whether the access policy lets this request's identity pull `repo`, whatever its token's
   * scopes (filters the catalog and automatic cross-mounts); always true without auth.
   */
  readonly canPull: (repo: string) => boolean;
}

/** The slowest request body the config accepts, failing with `code` (see `bodyChunks`). */
export function bodyPace(ctx: RegistryContext, code: RegistryErrorCode): BodyPace {
  return {
    minBytesPerSecond: ctx.config.http.minBodyBytesPerSecond,
    graceMs: ctx.config.http.bodyRateGraceMs,
    code,
  };
}
