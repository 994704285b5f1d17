/**
 * When and how long to wait before retrying a registry request. Pure: the HTTP layer asks,
 * this module decides.
 */

/** How hard to retry. */
export interface RetryPolicy {
  /** Retries after the first attempt (so `attempts + 1` requests at most). */
  retries: number;
  /** First backoff delay; doubled each retry. */
  baseDelayMs: number;
  /** Upper bound of any one wait, including a server's `Retry-After`. */
  maxDelayMs: number;
}

/** Defaults close to what docker and skopeo do: a handful of retries, up to a minute per wait. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 5, baseDelayMs: 200, maxDelayMs: 60_000 };

/** True for a status worth retrying: 408, 429 and every 5xx except 501 (not implemented). */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** Error codes of a broken connection, as Node and undici report them. */
const RETRYABLE_NET = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** True when `err` (or its cause) is a connection failure worth retrying. */
export function isRetryableNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && RETRYABLE_NET.has(code)) return true;
    if (e instanceof Error && /other side closed|socket hang up|terminated/i.test(e.message)) return true;
  }
  return false;
}

/**
 * Parses `Retry-After` (delay-seconds or an HTTP date) into milliseconds from `now`, or
 * `undefined` when absent or malformed.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * The wait before retry number `attempt` (1-based), or `undefined` when no retry should happen.
 * A server's `Retry-After` wins over backoff (capped by `maxDelayMs`); backoff is exponential with
 * full jitter so that parallel layer transfers do not retry in lock step.
 */
export function retryDelay(
  attempt: number,
  retryAfterMs: number | undefined,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  random: () => number = Math.random,
): number | undefined {
  if (attempt > policy.retries) return undefined;
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * True when `err` (or its cause) is a refused connection: nothing listens there. Docker fails
 * such a pull at once rather than backing off, when the registry never answered before.
 */
export function isConnectionRefused(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++)
    if ((e as { code?: unknown }).code === "ECONNREFUSED") return true;
  return false;
}
