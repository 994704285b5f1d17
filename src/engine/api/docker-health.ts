/**
 * The Docker API's views of healthchecks and `--init`: `State.Health`, `Config.Healthcheck` and
 * `HostConfig.Init` in inspect, `(healthy)` in `ps`'s Status, and `ps --filter health=`. Pure.
 */
import type { ContainerConfig } from "../containers/config.js";
import type { HealthState } from "../containers/health.js";
import { healthcheckToDocker } from "../containers/health-config.js";
import { healthSuffix } from "../containers/status-text.js";
import { EngineError } from "../error.js";

/** Docker's `health` filter values: a status, or `none` for a container without a healthcheck. */
export const HEALTH_FILTER_VALUES = ["starting", "healthy", "unhealthy", "none"];

/** A `ps` row with `(healthy)` after a running container's `Up …`. Pure. */
export function withHealthSummary(
  summary: Record<string, unknown>,
  health: HealthState | undefined,
): Record<string, unknown> {
  if (!health || summary.State !== "running") return summary;
  return { ...summary, Status: `${String(summary.Status)}${healthSuffix(health)}` };
}

/**
 * Whether a container of health `health` passes `--filter health=VALUE` (values are
 * alternatives); an unknown value is refused as Docker refuses it. Pure.
 */
export function healthMatches(health: HealthState | undefined, values: readonly string[]): boolean {
  for (const v of values)
    if (!HEALTH_FILTER_VALUES.includes(v))
      throw new EngineError("INVALID_ARGUMENT", `Unrecognised filter value for health: ${v}`);
  return values.includes(health?.Status ?? "none");
}

/** An inspect document with `State.Health`, `Config.Healthcheck` and `HostConfig.Init`. Pure. */
export function withHealthInspect(
  doc: Record<string, unknown>,
  c: ContainerConfig,
  health: HealthState | undefined,
): Record<string, unknown> {
  const state = doc.State as Record<string, unknown>;
  const config = doc.Config as Record<string, unknown>;
  const host = doc.HostConfig as Record<string, unknown>;
  return {
    ...doc,
    State: health ? { ...state, Health: health } : state,
    Config: c.healthcheck ? { ...config, Healthcheck: healthcheckToDocker(c.healthcheck) } : config,
    // As Docker: null when unset; pierd's --init default is recorded at create, so true then.
    HostConfig: { ...host, Init: c.init ?? null },
  };
}
