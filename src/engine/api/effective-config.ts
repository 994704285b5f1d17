/**
 * The `Config` that `docker inspect` shows for a container: the request merged with its image's
 * config as moby's `merge` (daemon/commit.go) does it at create — the image's environment
 * appended for the keys the request does not set, its labels, exposed ports and volumes added,
 * its command and entrypoint when the request gives no entrypoint, its user, working directory,
 * stop signal and healthcheck when the request gives none.
 */
import type { ImageConfig } from "../../oci/types.js";

/** The `config` object of an image config (what `docker image inspect` shows as `Config`). */
export type ImageRunConfig = NonNullable<ImageConfig["config"]>;

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);
}

function envKey(e: string): string {
  const eq = e.indexOf("=");
  return eq < 0 ? e : e.slice(0, eq);
}

/**
 * `config` (Docker's inspect `Config` built from the request) with `image` merged in. The
 * request's own `StopSignal` default (`SIGTERM`) gives way to the image's. Pure.
 */
export function effectiveConfig(
  config: Record<string, unknown>,
  image: ImageRunConfig & { Healthcheck?: unknown },
  requestStopSignal?: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  const env = Array.isArray(config.Env) ? (config.Env as string[]) : [];
  const keys = new Set(env.map(envKey));
  out.Env = [...env, ...(image.Env ?? []).filter((e) => !keys.has(envKey(e)))];
  out.Labels = { ...(image.Labels ?? {}), ...((config.Labels as Record<string, string> | undefined) ?? {}) };
  if (isEmpty(config.Entrypoint)) {
    if (isEmpty(config.Cmd)) out.Cmd = image.Cmd ?? null;
    out.Entrypoint = image.Entrypoint ?? null;
  }
  if (isEmpty(config.User) && image.User) out.User = image.User;
  if (isEmpty(config.WorkingDir) && image.WorkingDir) out.WorkingDir = image.WorkingDir;
  const ports = { ...(image.ExposedPorts ?? {}), ...((config.ExposedPorts as object | undefined) ?? {}) };
  if (Object.keys(ports).length) out.ExposedPorts = ports;
  const volumes = { ...(image.Volumes ?? {}), ...((config.Volumes as object | undefined) ?? {}) };
  if (Object.keys(volumes).length) out.Volumes = volumes;
  if (requestStopSignal === undefined && image.StopSignal) out.StopSignal = image.StopSignal;
  if (config.Healthcheck === undefined && image.Healthcheck !== undefined)
    out.Healthcheck = image.Healthcheck;
  return out;
}
