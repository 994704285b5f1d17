/**
 * Translations between Docker Engine API documents (API 1.41) and the engine's own types. Pure.
 */

import type { ContainerConfig, ContainerCreateInput } from "../containers/config.js";
import { healthcheckFromDocker } from "../containers/health-config.js";
import { parseBind, parseTmpfs } from "../containers/mount-spec.js";
import { statusText } from "../containers/status-text.js";
import type { ContainerRecord } from "../containers/store.js";
import { SYSTEMD_LABEL } from "../containers/systemd-mode.js";
import { EngineError } from "../error.js";
import { portBindingsFromDocker } from "../network/ports.js";
import { refuseUnappliedCreateFields } from "./docker-fields.js";
import { dockerHostConfigLimits, resourcesFromDocker, securityFromDocker } from "./docker-host-config.js";
import { logOptionsFromDocker } from "./docker-tty.js";

/** The API version pier advertises. */
export const DOCKER_API_VERSION = "1.41";
/** The oldest API version pier accepts. */
export const DOCKER_MIN_API_VERSION = "1.24";

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** One `HostConfig.Mounts` entry (the CLI's `--mount`) as an untrusted mount request. Pure. */
function mountFromDocker(v: unknown): unknown {
  const m = obj(v);
  const tmpfs = obj(m.TmpfsOptions);
  const options: string[] = [];
  if (typeof tmpfs.SizeBytes === "number" && tmpfs.SizeBytes > 0) options.push(`size=${tmpfs.SizeBytes}`);
  if (typeof tmpfs.Mode === "number" && tmpfs.Mode > 0) options.push(`mode=${tmpfs.Mode.toString(8)}`);
  return { type: m.Type, source: m.Source, target: m.Target, readOnly: m.ReadOnly === true, options };
}

/** `HostConfig.Tmpfs` (`{"/path": "size=64m,mode=1777"}`) as mount requests. Pure. */
function tmpfsFromDocker(v: unknown): unknown[] {
  return Object.entries(obj(v)).map(([target, opts]) =>
    parseTmpfs(target, typeof opts === "string" ? opts : ""),
  );
}

/**
 * The aliases of the create request's endpoint on its network (`NetworkingConfig.EndpointsConfig`,
 * where `--network-alias` and compose put them). Pure.
 */
function endpointAliases(networking: unknown, mode: string | undefined): string[] {
  const ep = endpointOf(networking, mode);
  return Array.isArray(ep.Aliases) ? ep.Aliases.filter((a): a is string => typeof a === "string") : [];
}

function endpointOf(networking: unknown, mode: string | undefined): Record<string, unknown> {
  const endpoints = obj(obj(networking).EndpointsConfig);
  return obj(endpoints[mode ?? ""] ?? Object.values(endpoints)[0]);
}

/** The `--ip` of the create request's endpoint (`EndpointsConfig.*.IPAMConfig.IPv4Address`). Pure. */
function endpointAddress(networking: unknown, mode: string | undefined): string | undefined {
  const ip = obj(endpointOf(networking, mode).IPAMConfig).IPv4Address;
  return typeof ip === "string" && ip ? ip : undefined;
}

/**
 * A Docker `ContainerConfig` + `HostConfig` (POST /containers/create) as the engine's create
 * input, field by field (the container service validates it). Mounts come from `Binds`, `Mounts`
 * and `Tmpfs`, in that order, then anonymous volumes for `Volumes` not mounted otherwise. Every
 * field pier does not apply is refused with a message naming it rather than silently ignored
 * (the list: `DOCKER_CREATE_FIELDS` of docker-fields.ts, docs/docker-api-fields.md).
 */
export function createInputFromDocker(body: unknown): ContainerCreateInput {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new EngineError("INVALID_ARGUMENT", "container config must be a JSON object");
  const b = body as Record<string, unknown>;
  refuseUnappliedCreateFields(b);
  const host = obj(b.HostConfig);
  const ports = portBindingsFromDocker(host.PortBindings);
  if (host.Binds !== undefined && host.Binds !== null && !Array.isArray(host.Binds))
    throw new EngineError("INVALID_ARGUMENT", "HostConfig.Binds must be an array");
  if (host.Mounts !== undefined && host.Mounts !== null && !Array.isArray(host.Mounts))
    throw new EngineError("INVALID_ARGUMENT", "HostConfig.Mounts must be an array");
  const mounts: unknown[] = [
    ...((host.Binds as unknown[] | null) ?? []).map((b) => parseBind(String(b))),
    ...((host.Mounts as unknown[] | null) ?? []).map(mountFromDocker),
    ...tmpfsFromDocker(host.Tmpfs),
  ];
  // `docker run -v /path` arrives as Config.Volumes: anonymous volumes where nothing else mounts.
  const targets = new Set(mounts.map((m) => obj(m).target));
  for (const target of Object.keys(obj(b.Volumes)))
    if (!targets.has(target)) mounts.push({ type: "volume", source: "", target });
  const rp = obj(host.RestartPolicy);
  let entrypoint = b.Entrypoint;
  if (Array.isArray(entrypoint) && entrypoint.length === 1 && entrypoint[0] === "") entrypoint = [];
  const networkMode = typeof host.NetworkMode === "string" && host.NetworkMode ? host.NetworkMode : undefined;
  return {
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
    healthcheck: healthcheckFromDocker(b.Healthcheck),
    init: host.Init,
    // The docker CLI always sends "" (no parent).
    cgroupParent: host.CgroupParent === "" ? undefined : host.CgroupParent,
    autoRemove: host.AutoRemove,
    mounts,
    networkMode,
    ports,
    exposedPorts: Object.keys(obj(b.ExposedPorts)),
    publishAll: host.PublishAllPorts,
    networkAliases: endpointAliases(b.NetworkingConfig, networkMode),
    ipv4Address: endpointAddress(b.NetworkingConfig, networkMode),
    extraHosts: host.ExtraHosts,
    sysctls: host.Sysctls,
    // Docker has no field for a system container: the label asks (see systemd-mode.ts).
    systemd: obj(b.Labels)[SYSTEMD_LABEL],
    dns: { servers: host.Dns, search: host.DnsSearch, options: host.DnsOptions },
    restartPolicy:
      typeof rp.Name === "string" && rp.Name
        ? { name: rp.Name, maximumRetryCount: rp.MaximumRetryCount }
        : undefined,
    logOptions: logOptionsFromDocker(b),
    resources: resourcesFromDocker(host),
    security: securityFromDocker(host),
    ...(Array.isArray(host.ConsoleSize) && host.ConsoleSize.some((n) => n !== 0)
      ? { consoleSize: host.ConsoleSize }
      : {}),
    ...(b.StdinOnce === true ? { stdinOnce: true } : {}),
  };
}

/** Docker's human `Status` column (kept here for the API's callers). */
export { statusText };

function command(r: ContainerRecord): string {
  return [...(r.config.entrypoint ?? []), ...(r.config.cmd ?? [])].join(" ");
}

/**
 * A container's `Mounts` as Docker shows them; a volume's `Source` is its name here, its host
 * path once {@link withVolumePaths} resolved it. Pure.
 */
export function dockerMounts(c: ContainerConfig): Record<string, unknown>[] {
  return (c.mounts ?? []).map((m) => ({
    Type: m.type,
    ...(m.type === "volume" ? { Name: m.source, Driver: "local" } : {}),
    Source: m.source,
    Destination: m.target,
    Mode: m.readOnly ? "ro" : "",
    RW: m.readOnly !== true,
    Propagation: m.type === "bind" ? "rprivate" : "",
  }));
}

/** Docker's `filters` query parameter (see `filters.ts`, shared by every endpoint). */
export { parseFilters } from "../filters.js";

/** A summary or inspect document whose volume mounts show their host path as `Source`, as Docker's. Pure. */
export function withVolumePaths(
  doc: Record<string, unknown>,
  dataPath: (name: string) => string,
): Record<string, unknown> {
  const mounts = doc.Mounts as Record<string, unknown>[] | undefined;
  if (!mounts) return doc;
  return {
    ...doc,
    Mounts: mounts.map((m) => (m.Type === "volume" ? { ...m, Source: dataPath(String(m.Name)) } : m)),
  };
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
    Mounts: dockerMounts(r.config),
  };
}

/** The `State` of `GET /containers/{id}/json`. Pure. */
function dockerState(r: ContainerRecord): Record<string, unknown> {
  return {
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
    State: dockerState(r),
    Image: r.imageId,
    LogPath: logPath,
    Name: `/${r.name}`,
    RestartCount: r.restartCount,
    Driver: "overlay",
    Platform: "linux",
    HostConfig: {
      ...dockerHostConfigLimits(c),
      AutoRemove: c.autoRemove === true,
      NetworkMode: c.networkMode ?? "none",
      ...(c.sysctls ? { Sysctls: c.sysctls } : {}),
      RestartPolicy: {
        Name: c.restartPolicy?.name ?? "no",
        MaximumRetryCount: c.restartPolicy?.maximumRetryCount ?? 0,
      },
      LogConfig: { Type: "json-file", Config: {} },
      Binds: null,
      Tmpfs: Object.fromEntries(
        (c.mounts ?? [])
          .filter((m) => m.type === "tmpfs")
          .map((m) => [m.target, (m.options ?? []).join(",")]),
      ),
    },
    GraphDriver: { Name: "overlay", Data: { MergedDir: rootfs } },
    Mounts: dockerMounts(r.config),
    Config: {
      Hostname: c.hostname ?? r.id.slice(0, 12),
      User: c.user ?? "",
      Tty: c.tty === true,
      OpenStdin: c.openStdin === true,
      StdinOnce: c.stdinOnce === true,
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
