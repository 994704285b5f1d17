/**
 * Options shared by every library entry point that talks to registries, and how they turn into
 * one {@link RegistryClient} per registry.
 */
import type { CredentialOptions, Credentials } from "./auth/credentials.js";
import { RegistryClient, type RegistryClientOptions } from "./client.js";
import type { HttpOptions } from "./http.js";
import type { ProgressListener } from "./progress-events.js";
import type { RegistriesConfig } from "./registries/config.js";

/** How pier reaches registries during one command. */
export interface RemoteOptions extends HttpOptions, CredentialOptions {
  /**
   * Plain HTTP: `true` for every registry, the registries (host[:port]) the user marked insecure,
   * or a predicate (the engine's: loopback ones and `--insecure-registry`).
   */
  insecure?: boolean | readonly string[] | ((registry: string) => boolean);
  /** Explicit credentials (from `--creds`); otherwise looked up per registry. */
  credentials?: Credentials;
  /** Blobs up to this size go in one `PUT`. */
  monolithicMaxBytes?: number;
  /** Upload chunk size; 0 streams one `PATCH`. */
  chunkSize?: number;
  /** registries.conf: mirrors, rewrites, blocked names, short names; none means pull from the named host. */
  registries?: RegistriesConfig;
  /** One line per fallen-through mirror; default `warning: …` on stderr. */
  onWarning?: (message: string) => void;
}

/** True when `registry` may be spoken to over plain HTTP. Pure. */
export function isInsecure(registry: string, insecure: RemoteOptions["insecure"]): boolean {
  if (insecure === true) return true;
  if (!insecure) return false;
  if (typeof insecure === "function") return insecure(registry);
  return insecure.includes(registry);
}

/**
 * A client for `registry` configured from `opts`. The caller closes it. Retries are reported as
 * `retry` progress events when `opts` carries an `onProgress` listener and no `onRetry`.
 */
export function clientFor(
  registry: string,
  opts: RemoteOptions & { onProgress?: ProgressListener; apiRoot?: string } = {},
): RegistryClient {
  const { insecure, credentials, onProgress, registries: _r, onWarning: _w, ...rest } = opts;
  const o: RegistryClientOptions = { ...rest, insecure: isInsecure(registry, insecure) };
  if (onProgress && !o.onRetry) {
    o.onRetry = ({ attempt, delayMs, reason }) => onProgress({ type: "retry", attempt, delayMs, reason });
  }
  if (credentials) o.credentials = credentials;
  return new RegistryClient(registry, o);
}
