/**
 * The Docker API's logging fields: `HostConfig.LogConfig` of a create request into the engine's
 * json-file options, and back into what `docker inspect` shows.
 */
import type { ContainerConfig } from "../containers/config.js";
import { checkLogConfig } from "../log-options.js";

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * The json-file options of a Docker create body (`HostConfig.LogConfig`: `Type` json-file or
 * empty, `Config` max-size/max-file); `undefined` when none. Throws `INVALID_ARGUMENT` naming a
 * driver or option pier does not have. Pure.
 */
export function logOptionsFromDocker(body: unknown): Record<string, string> | undefined {
  const lc = obj(obj(obj(body).HostConfig).LogConfig);
  const opts = checkLogConfig(lc.Type, lc.Config);
  return Object.keys(opts).length ? opts : undefined;
}

/** `info` (a `docker inspect` body) with its `HostConfig.LogConfig` filled in from `c`. */
export function withLogConfig(
  info: Record<string, unknown>,
  c: Pick<ContainerConfig, "logOptions">,
): Record<string, unknown> {
  Object.assign(info.HostConfig as object, { LogConfig: dockerLogConfig(c) });
  return info;
}

/** Docker's `HostConfig.LogConfig` of a container. Pure. */
export function dockerLogConfig(c: Pick<ContainerConfig, "logOptions">): {
  Type: string;
  Config: Record<string, string>;
} {
  return { Type: "json-file", Config: { ...(c.logOptions ?? {}) } };
}
