/**
 * Translations between Docker Engine API documents (API 1.41) and the engine's own types. Pure.
 */

import type { ContainerConfig } from "../containers/config.js";
import { parseContainerConfig } from "../containers/config.js";
import type { ContainerRecord } from "../containers/store.js";
import { EngineError } from "../error.js";

/** The API version pier advertises. */
export const DOCKER_API_VERSION = "1.41";
/** The oldest API version pier accepts. */
export const DOCKER_MIN_API_VERSION = "1.24";

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function nonEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object" && v !== null) return Object.keys(v).length > 0;
  return false;
}

/**
 * A Docker `ContainerConfig` + `HostConfig` (POST /containers/create) as the engine's config.
 * What pier does not do yet (binds, published ports, mounts) is refused with a message naming it
 * rather than silently ignored.
 */
export function configFromDocker(body: unknown): ContainerConfig {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new EngineError("INVALID_ARGUMENT", "container config must be a JSON object");
  const b = body as Record<string, unknown>;
  const host = obj(b.HostConfig);
  for (const k of ["Binds", "Mounts", "PortBindings", "Tmpfs"]) {
    if (nonEmpty(host[k]))
      throw new EngineError("INVALID_ARGUMENT", `HostConfig.${k} is not supported by pier yet`);
  }
  const rp = obj(host.RestartPolicy);
  let entrypoint = b.Entrypoint;
  if (Array.isArray(entrypoint) && entrypoint.length === 1 && entrypoint[0] === "") entrypoint = [];
  const networkMode = typeof host.NetworkMode === "string" && host.NetworkMode ? host.NetworkMode : undefined;
  return parseContainerConfig({
    image: b.Image,
    cmd: b.Cmd,
    entrypoint,
    env: b.Env,
    workingDir: b.WorkingDir,
    user: b.User,
    tty: b.Tty,
    openStdin: b.OpenStdin,
    hostname: b.Hostname,
    labels: b.Labels,
    stopSignal: b.StopSignal,
    stopTimeout: b.StopTimeout,
    autoRemove: host.AutoRemove,
    networkMode,
    restartPolicy:
      typeof rp.Name === "string" && rp.Name
        ? { name: rp.Name, maximumRetryCount: rp.MaximumRetryCount }
        : undefined,
  });
}

function ago(iso: string, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (s < 1) return "Less than a second";
  if (s < 60) return `${s} second${s === 1 ? "" : "s"}`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? "" : "s"}`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} hour${h === 1 ? "" : "s"}`;
  return `${Math.round(h / 24)} days`;
}

/** Docker's human `Status` column: `Up 3 seconds`, `Exited (0) 2 minutes ago`, `Created`. Pure. */
export function statusText(r: ContainerRecord, nowMs = Date.now()): string {
  if (r.status === "running") return `Up ${ago(r.startedAt, nowMs)}`;
  if (r.status === "exited") return `Exited (${r.exitCode}) ${ago(r.finishedAt, nowMs)} ago`;
  if (r.status === "removing") return "Removal In Progress";
  return "Created";
}

function command(r: ContainerRecord): string {
  return [...(r.config.entrypoint ?? []), ...(r.config.cmd ?? [])].join(" ");
}

/** One entry of GET /containers/json. Pure. */
export function dockerSummary(r: ContainerRecord, nowMs = Date.now()): Record<string, unknown> {
  return {
    Id: r.id,
    Names: [`/${r.name}`],
    Image: r.config.image,
    ImageID: r.imageId,
    Command: command(r),
    Created: Math.floor(Date.parse(r.createdAt) / 1000),
    Ports: [],
    Labels: r.config.labels ?? {},
    State: r.status,
    Status: statusText(r, nowMs),
    HostConfig: { NetworkMode: r.config.networkMode ?? "none" },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  };
}

/** GET /containers/{id}/json. Pure. */
export function dockerInspect(r: ContainerRecord, logPath: string, rootfs: string): Record<string, unknown> {
  const c = r.config;
  return {
    Id: r.id,
    Created: r.createdAt,
    Path: (c.entrypoint ?? c.cmd ?? [])[0] ?? "",
    Args: [...(c.entrypoint ?? []), ...(c.cmd ?? [])].slice(1),
    State: {
      Status: r.status,
      Running: r.status === "running",
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: r.pid,
      ExitCode: r.exitCode,
      Error: r.error,
      StartedAt: r.startedAt,
      FinishedAt: r.finishedAt,
    },
    Image: r.imageId,
    LogPath: logPath,
    Name: `/${r.name}`,
    RestartCount: r.restartCount,
    Driver: "overlay",
    Platform: "linux",
    HostConfig: {
      AutoRemove: c.autoRemove === true,
      NetworkMode: c.networkMode ?? "none",
      RestartPolicy: {
        Name: c.restartPolicy?.name ?? "no",
        MaximumRetryCount: c.restartPolicy?.maximumRetryCount ?? 0,
      },
      LogConfig: { Type: "json-file", Config: {} },
    },
    GraphDriver: { Name: "overlay", Data: { MergedDir: rootfs } },
    Mounts: [],
    Config: {
      Hostname: c.hostname ?? r.id.slice(0, 12),
      User: c.user ?? "",
      Tty: c.tty === true,
      OpenStdin: c.openStdin === true,
      Env: c.env ?? [],
      Cmd: c.cmd ?? null,
      Entrypoint: c.entrypoint ?? null,
      Image: c.image,
      WorkingDir: c.workingDir ?? "",
      Labels: c.labels ?? {},
      StopSignal: c.stopSignal ?? "SIGTERM",
      ...(c.stopTimeout !== undefined ? { StopTimeout: c.stopTimeout } : {}),
    },
    NetworkSettings: { Networks: {}, Ports: {} },
  };
}
