/**
 * A container's healthcheck as configured: the image's `HEALTHCHECK` (`Config.Healthcheck`,
 * durations in nanoseconds), the create request's (`--health-cmd`, `--health-interval`, …,
 * `--no-healthcheck`), and the two merged as Docker merges them. Pure.
 */
import type { ImageConfig } from "../../oci/types.js";
import { EngineError } from "../error.js";

/**
 * One healthcheck in the engine's units (milliseconds). `test` is Docker's: `["NONE"]` (none,
 * overriding the image's), `["CMD", prog, args…]`, `["CMD-SHELL", "command line"]`, or `[]`
 * (the image's test, with the durations given here).
 */
export interface HealthcheckConfig {
  test: string[];
  /** Between the end of a probe and the next (default 30 s); 0: the image's or the default. */
  intervalMs?: number;
  /** A probe running longer fails (default 30 s). */
  timeoutMs?: number;
  /** Failures in this time after the start do not count (default 0). */
  startPeriodMs?: number;
  /**
   * Between probes while the container is `starting` within its start period (API 1.44's
   * `StartInterval`; default 5 s, Docker's).
   */
  startIntervalMs?: number;
  /** Consecutive failures that make it unhealthy (default 3). */
  retries?: number;
}

/** The durations and retries Docker uses where none is configured. */
export const HEALTH_DEFAULTS = {
  intervalMs: 30_000,
  timeoutMs: 30_000,
  startPeriodMs: 0,
  startIntervalMs: 5_000,
  retries: 3,
};

/** A healthcheck with every field decided: what the monitor runs. */
export type EffectiveHealthcheck = Required<HealthcheckConfig>;

const DURATIONS = ["intervalMs", "timeoutMs", "startPeriodMs", "startIntervalMs"] as const;

/** The fields of Docker's `Healthcheck` document (API 1.44: `StartInterval` is the last one). */
const DOCKER_HEALTH_FIELDS = new Set([
  "Test",
  "Interval",
  "Timeout",
  "StartPeriod",
  "StartInterval",
  "Retries",
]);

/** Validates an untrusted healthcheck (engine field names); errors name the field. Pure. */
export function parseHealthcheck(v: unknown): HealthcheckConfig | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v))
    throw new EngineError("INVALID_ARGUMENT", "healthcheck must be an object");
  const h = v as Record<string, unknown>;
  const test = h.test ?? [];
  if (!Array.isArray(test) || test.some((t) => typeof t !== "string"))
    throw new EngineError("INVALID_ARGUMENT", "healthcheck.test must be an array of strings");
  const kind = test[0];
  if (kind !== undefined && kind !== "NONE" && kind !== "CMD" && kind !== "CMD-SHELL")
    throw new EngineError(
      "INVALID_ARGUMENT",
      `healthcheck.test must start with NONE, CMD or CMD-SHELL, not ${JSON.stringify(kind)}`,
    );
  if ((kind === "CMD" || kind === "CMD-SHELL") && test.length < 2)
    throw new EngineError("INVALID_ARGUMENT", `healthcheck.test ${kind} needs a command`);
  const out: HealthcheckConfig = { test: test as string[] };
  for (const k of DURATIONS) {
    const d = h[k];
    if (d === undefined || d === null || d === 0) continue;
    if (typeof d !== "number" || !Number.isFinite(d) || d < 1)
      throw new EngineError("INVALID_ARGUMENT", `healthcheck.${k}: ${String(d)} cannot be less than 1ms`);
    out[k] = Math.round(d);
  }
  if (h.retries !== undefined && h.retries !== null && h.retries !== 0) {
    if (typeof h.retries !== "number" || !Number.isInteger(h.retries) || h.retries < 0)
      throw new EngineError("INVALID_ARGUMENT", "healthcheck.retries cannot be negative");
    out.retries = h.retries;
  }
  return out;
}

/**
 * Docker's `Healthcheck` document (image config or create request; durations in nanoseconds)
 * as an untrusted engine healthcheck. A negative duration stays negative so that the check
 * refuses it. Pure.
 */
export function healthcheckFromDocker(v: unknown): unknown {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return v ?? undefined;
  const h = v as Record<string, unknown>;
  // Never a field dropped unread: one pier does not know is refused by name.
  for (const k of Object.keys(h))
    if (!DOCKER_HEALTH_FIELDS.has(k) && h[k] !== undefined && h[k] !== null)
      throw new EngineError("INVALID_ARGUMENT", `Healthcheck.${k} is not a field of Docker's HealthConfig`);
  const ms = (ns: unknown) => (typeof ns === "number" ? (ns === 0 ? 0 : ns / 1e6) : ns);
  return {
    test: h.Test ?? [],
    intervalMs: ms(h.Interval),
    timeoutMs: ms(h.Timeout),
    startPeriodMs: ms(h.StartPeriod),
    startIntervalMs: ms(h.StartInterval),
    retries: h.Retries,
  };
}

/** The engine's healthcheck as Docker's document (`Config.Healthcheck` of inspect). Pure. */
export function healthcheckToDocker(h: HealthcheckConfig): Record<string, unknown> {
  const ns = (ms: number | undefined) => (ms ?? 0) * 1e6;
  return {
    Test: h.test,
    ...(h.intervalMs ? { Interval: ns(h.intervalMs) } : {}),
    ...(h.timeoutMs ? { Timeout: ns(h.timeoutMs) } : {}),
    ...(h.startPeriodMs ? { StartPeriod: ns(h.startPeriodMs) } : {}),
    ...(h.startIntervalMs ? { StartInterval: ns(h.startIntervalMs) } : {}),
    ...(h.retries ? { Retries: h.retries } : {}),
  };
}

/**
 * The container's healthcheck over the image's, as Docker merges them at create: an empty test
 * takes the image's, each unset duration or retry count the image's. Pure.
 */
export function mergeHealthcheck(
  image: HealthcheckConfig | undefined,
  own: HealthcheckConfig | undefined,
): HealthcheckConfig | undefined {
  if (!own) return image;
  if (!image) return own;
  const merged: HealthcheckConfig = { ...image, ...own, test: own.test.length ? own.test : image.test };
  for (const k of [...DURATIONS, "retries"] as const)
    if (own[k] === undefined && image[k] !== undefined) merged[k] = image[k];
  return merged;
}

/** What the monitor runs, or `undefined` when there is no healthcheck (none, or `NONE`). Pure. */
export function effectiveHealthcheck(h: HealthcheckConfig | undefined): EffectiveHealthcheck | undefined {
  if (!h || h.test.length === 0 || h.test[0] === "NONE") return undefined;
  return {
    test: h.test,
    intervalMs: h.intervalMs || HEALTH_DEFAULTS.intervalMs,
    timeoutMs: h.timeoutMs || HEALTH_DEFAULTS.timeoutMs,
    startPeriodMs: h.startPeriodMs || HEALTH_DEFAULTS.startPeriodMs,
    startIntervalMs: h.startIntervalMs || HEALTH_DEFAULTS.startIntervalMs,
    retries: h.retries || HEALTH_DEFAULTS.retries,
  };
}

/** The command line a probe runs: `CMD`'s as given, `CMD-SHELL`'s through `/bin/sh -c`. Pure. */
export function probeCommand(h: EffectiveHealthcheck): string[] {
  return h.test[0] === "CMD-SHELL" ? ["/bin/sh", "-c", ...h.test.slice(1)] : h.test.slice(1);
}

/** The image's `HEALTHCHECK`, checked as a create request's (errors say it is the image's). Pure. */
export function imageHealthcheck(image: ImageConfig): HealthcheckConfig | undefined {
  try {
    return parseHealthcheck(healthcheckFromDocker(image.config?.Healthcheck));
  } catch (err) {
    throw new EngineError("INVALID_ARGUMENT", `the image's HEALTHCHECK: ${(err as Error).message}`);
  }
}
