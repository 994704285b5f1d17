/**
 * What a container is made from (pier's own create request; the Docker API translates into it)
 * and the pure decisions made from it: validation, the effective image config, the runtime spec.
 */

import { runtimeConfigFromImage, type UserFiles } from "../../image/bundle-config.js";
import { parseExactJson, stringifyExactJson } from "../../oci/exact-json.js";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { defaultRuntimeSpec } from "../../oci/runtime-spec/default-spec.js";
import { SECCOMP_VALUE_KEYS } from "../../oci/runtime-spec/seccomp.js";
import type { ImageConfig } from "../../oci/types.js";
import { cleanCgroupPath, expandSlice, systemdCgroupPath } from "../../runtime/cgroups/path.js";
import { parseSignal } from "../../runtime/lifecycle/signals.js";
import { planSysctls } from "../../runtime/plan/sysctl.js";
import { EngineError } from "../error.js";
import { checkLogConfig } from "../log-options.js";
import { parseCniConfig } from "../network/cni-config-dir.js";
import type { CniConflist } from "../network/conflist.js";
import { checkDns, type DnsOverrides, parseExtraHost } from "../network/hosts.js";
import { checkPortMappings, type PortMapping } from "../network/ports.js";
import { applyNetworkSpec, type NetworkSpec } from "../network/spec.js";
import { type HealthcheckConfig, parseHealthcheck } from "./health-config.js";
import { type HostFacts, readHostFacts } from "./host-facts.js";
import { withInit } from "./init.js";
import { bindShm } from "./ipc-shm.js";
import {
  applyResources,
  type ContainerResources,
  checkResourcesOnHost,
  parseResources,
} from "./resources.js";
import { applySecurity, type ContainerSecurity, parseSecurity } from "./security.js";
import { applySystemdMode, parseSystemdMode, runsSystemd, type SystemdMode } from "./systemd-mode.js";

/** Docker's restart policies. */
export interface RestartPolicy {
  name: "no" | "always" | "on-failure" | "unless-stopped";
  maximumRetryCount?: number;
}

/** The settings of a new container. Unset fields come from the image. */
export interface ContainerConfig {
  image: string;
  cmd?: string[];
  entrypoint?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  /** A terminal for the process (Docker's `Tty`): output is raw, not framed. */
  tty?: boolean;
  /** The terminal's initial `[height, width]` (Docker's `HostConfig.ConsoleSize`). */
  consoleSize?: [number, number];
  /** Keep stdin open for attach (`-i`). */
  openStdin?: boolean;
  /** Close stdin when the first attached client's input ends (Docker's StdinOnce: `run -i`). */
  stdinOnce?: boolean;
  hostname?: string;
  labels?: Record<string, string>;
  /** Remove the container once it exits (`--rm`). */
  autoRemove?: boolean;
  /**
   * The client removes the container itself once its run ends (`pier run --rm` in the
   * foreground, which follows the output, then deletes it): its writable layer is as disposable
   * as an `autoRemove` one's (see {@link disposableRootfs}).
   */
  clientRemoves?: boolean;
  restartPolicy?: RestartPolicy;
  /** `bridge` (the default), `none` (loopback only), `host`, or a user network's name. */
  networkMode?: string;
  /**
   * A network given as a CNI configuration list instead of one of the engine's networks (a CRI
   * pod's, from the CNI config directory): its plugins are ADDed and DELeted as the engine's own
   * networks' are. Only with the default network mode.
   */
  cniNetwork?: CniConflist;
  /** Published ports (`-p`, `HostConfig.PortBindings`). */
  ports?: PortMapping[];
  /** Exposed ports without a binding (`EXPOSE`, `Config.ExposedPorts`): `8080/tcp`. */
  exposedPorts?: string[];
  /** More names peers on a user network resolve it by (`--network-alias`, `EndpointsConfig.Aliases`). */
  networkAliases?: string[];
  /** `--ip`: its IPv4 address on its user network. */
  ipv4Address?: string;
  /** `-P`: publish every exposed port (the image's too) on a free host port. */
  publishAll?: boolean;
  /** `--add-host NAME:IP` entries for /etc/hosts (`IP` may be `host-gateway`). */
  extraHosts?: string[];
  /** `--dns`, `--dns-search`, `--dns-option`: each replaces the host's resolv.conf lines of its kind. */
  dns?: DnsOverrides;
  /** The signal `stop` sends first (a name or number; the image's `StopSignal`, else SIGTERM). */
  stopSignal?: string;
  /** Seconds between the stop signal and SIGKILL (default 10). */
  stopTimeout?: number;
  /** Bind mounts, named volumes and tmpfs mounts, in the order they are mounted. */
  mounts?: MountRequest[];
  /** json-file options (`max-size`, `max-file`), validated by `checkLogConfig`. */
  logOptions?: Record<string, string>;
  /** `--sysctl` (`HostConfig.Sysctls`): only keys of the container's own namespaces, as runc's. */
  sysctls?: Record<string, string>;
  /** `--systemd`: boot the command as a guest init (system container); see `systemd-mode.ts`. */
  systemd?: SystemdMode;
  /**
   * A second log in the Kubernetes CRI format (`<RFC3339Nano> stdout|stderr F|P <line>`) that the
   * monitor writes beside the json-file log: the CRI's `log_directory`/`log_path`.
   */
  criLogPath?: string;
  /**
   * The cgroup the container's cgroup goes under (Docker's `--cgroup-parent`, a CRI pod's
   * `cgroup_parent`): a cgroupfs path, absolute (`/kubepods/burstable/pod<uid>`, from each
   * hierarchy's root) or relative (from the runtime's own cgroup, as runc resolves it), or a
   * systemd slice name (`kubepods-burstable-pod<uid>.slice`) placed where systemd puts that slice.
   */
  cgroupParent?: string;
  /** Memory, CPU, pids, block I/O limits, ulimits, OOM score, /dev/shm size (see resources.ts). */
  resources?: ContainerResources;
  /** Capabilities, privileged, read-only root, seccomp, devices, namespace modes (see security.ts). */
  security?: ContainerSecurity;
  /** `--init`: pier's tiny init runs as PID 1, reaping zombies and forwarding signals. */
  init?: boolean;
  /** The healthcheck (the image's merged in at create; `["NONE"]` disables it). */
  healthcheck?: HealthcheckConfig;
}

/**
 * One mount of a container: `bind` (an existing host path), `volume` (a named local volume,
 * created on first use) or `tmpfs`. `source` is the host path or volume name (unused for tmpfs).
 */
export interface MountRequest {
  type: "bind" | "volume" | "tmpfs";
  source: string;
  target: string;
  readOnly?: boolean;
  /** Extra tmpfs options (`size=64m`, `mode=1777`). */
  options?: string[];
  /** A bind whose missing host directory is made at create (`-v`, `Binds`), as Docker does. */
  createSource?: boolean;
}

const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** True for a valid named-volume name (Docker's grammar). Pure. */
export function isVolumeName(name: string): boolean {
  return VOLUME_NAME_RE.test(name);
}

/** Validates one untrusted mount request; errors name the problem. Pure. */
export function checkMount(v: unknown): MountRequest {
  if (typeof v !== "object" || v === null)
    throw new EngineError("INVALID_ARGUMENT", "invalid mount config: must be an object");
  const m = v as Record<string, unknown>;
  const { type, source, target } = m;
  if (type !== "bind" && type !== "volume" && type !== "tmpfs")
    throw new EngineError("INVALID_ARGUMENT", `invalid mount config: unknown mount type ${String(type)}`);
  if (typeof target !== "string" || !target.startsWith("/"))
    throw new EngineError(
      "INVALID_ARGUMENT",
      `invalid mount config: mount path must be absolute: ${String(target)}`,
    );
  if (target.split("/").includes(".."))
    throw new EngineError("INVALID_ARGUMENT", `invalid mount config: mount path ${target} contains '..'`);
  const src = typeof source === "string" ? source : "";
  if (type === "bind" && !src.startsWith("/"))
    throw new EngineError(
      "INVALID_ARGUMENT",
      `invalid mount config: bind source path must be absolute: ${src}`,
    );
  // An empty volume source is an anonymous volume: the service names it at create.
  if (type === "volume" && src !== "" && !isVolumeName(src))
    throw new EngineError(
      "INVALID_ARGUMENT",
      `invalid mount config: invalid volume name ${JSON.stringify(src)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed (at least 2 characters); a host directory needs an absolute path`,
    );
  const out: MountRequest = { type, source: type === "tmpfs" ? "" : src, target };
  if (m.readOnly === true) out.readOnly = true;
  if (m.createSource === true && type === "bind") out.createSource = true;
  const opts = strings(m.options, "mount options");
  if (opts?.length) {
    if (
      type !== "tmpfs" ||
      opts.some(
        (o) =>
          !/^(size=\d+[kmg]?|mode=[0-7]{3,4}|nr_inodes=\d+[kmg]?|noexec|exec|nosuid|suid|nodev|dev|ro|rw)$/.test(
            o,
          ),
      )
    )
      throw new EngineError(
        "INVALID_ARGUMENT",
        `invalid mount config: unsupported options ${opts.join(",")}`,
      );
    out.options = opts;
  }
  return out;
}

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Checks a container name as Docker does; returns it without a leading `/`. Pure. */
export function checkName(name: string): string {
  if (!NAME_RE.test(name))
    throw new EngineError(
      "INVALID_ARGUMENT",
      `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  return name.replace(/^\//, "");
}

function strings(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string"))
    throw new EngineError("INVALID_ARGUMENT", `${what} must be an array of strings`);
  return v as string[];
}

function optString(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new EngineError("INVALID_ARGUMENT", `${what} must be a string`);
  return v;
}

/** Parses `no`, `always`, `unless-stopped`, `on-failure[:N]`. Pure. */
export function parseRestartPolicy(text: string): RestartPolicy {
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(text);
  if (!m || (m[2] !== undefined && m[1] !== "on-failure"))
    throw new EngineError("INVALID_ARGUMENT", `invalid restart policy ${JSON.stringify(text)}`);
  const name = m[1] as RestartPolicy["name"];
  return m[2] === undefined ? { name } : { name, maximumRetryCount: Number(m[2]) };
}

/**
 * A create request as a front received it, in the engine's field names but not yet checked:
 * pier's API body as it is, the Docker API's body mapped field by field. The container
 * service validates it once ({@link parseContainerConfig}).
 */
export type ContainerCreateInput = { readonly [K in keyof ContainerConfig]?: unknown } & {
  readonly name?: unknown;
};

/** Validates an untrusted create request (pier's API body); errors name the field. Pure. */
export function parseContainerConfig(body: unknown): ContainerConfig {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new EngineError("INVALID_ARGUMENT", "container config must be a JSON object");
  const b = body as Record<string, unknown>;
  const image = optString(b.image, "image");
  if (!image) throw new EngineError("INVALID_ARGUMENT", "image is required");
  const c: ContainerConfig = { image };
  const cmd = strings(b.cmd, "cmd");
  if (cmd) c.cmd = cmd;
  const ep = strings(b.entrypoint, "entrypoint");
  if (ep) c.entrypoint = ep;
  const env = strings(b.env, "env");
  if (env) {
    for (const e of env)
      if (!e.includes("=")) throw new EngineError("INVALID_ARGUMENT", `env entry ${e} has no '='`);
    c.env = env;
  }
  for (const k of [
    "workingDir",
    "user",
    "hostname",
    "networkMode",
    "stopSignal",
    "criLogPath",
    "cgroupParent",
  ] as const) {
    const v = optString(b[k], k);
    if (v !== undefined) c[k] = v;
  }
  if (c.criLogPath !== undefined && (!c.criLogPath.startsWith("/") || c.criLogPath.split("/").includes("..")))
    throw new EngineError(
      "INVALID_ARGUMENT",
      `criLogPath ${c.criLogPath} must be an absolute path without '..'`,
    );
  if (c.cgroupParent !== undefined) checkCgroupParent(c.cgroupParent);
  if (c.workingDir !== undefined && !c.workingDir.startsWith("/"))
    throw new EngineError("INVALID_ARGUMENT", `workingDir ${c.workingDir} must be an absolute path`);
  // Whether a named network exists is the network service's to say, at create.
  if (c.networkMode !== undefined && !/^(container:)?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(c.networkMode))
    throw new EngineError("INVALID_ARGUMENT", `invalid network name ${JSON.stringify(c.networkMode)}`);
  if (b.cniNetwork !== undefined && b.cniNetwork !== null) {
    const list = parseCniConfig(JSON.stringify(b.cniNetwork), false);
    if (!list)
      throw new EngineError(
        "INVALID_ARGUMENT",
        "cniNetwork: want a CNI configuration list (name, plugins with a type)",
      );
    if (c.networkMode !== undefined)
      throw new EngineError("INVALID_ARGUMENT", `cniNetwork: not with networkMode ${c.networkMode}`);
    c.cniNetwork = list;
  }
  const ports = checkPortMappings(b.ports);
  if (ports.length) {
    if (c.networkMode === "host" || c.networkMode === "none")
      throw new EngineError(
        "INVALID_ARGUMENT",
        `published ports are discarded with --network ${c.networkMode}: remove -p or use a bridge network`,
      );
    c.ports = ports;
  }
  const exposed = strings(b.exposedPorts, "exposedPorts");
  if (exposed?.length) c.exposedPorts = exposed;
  const aliases = strings(b.networkAliases, "networkAliases");
  if (aliases?.length) {
    for (const a of aliases)
      if (!/^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/.test(a))
        throw new EngineError("INVALID_ARGUMENT", `invalid network alias ${JSON.stringify(a)}`);
    c.networkAliases = aliases;
  }
  const ip = optString(b.ipv4Address, "ipv4Address");
  if (ip !== undefined) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip))
      throw new EngineError("INVALID_ARGUMENT", `invalid IPv4 address ${JSON.stringify(ip)}`);
    c.ipv4Address = ip;
  }
  const extraHosts = strings(b.extraHosts, "extraHosts");
  if (extraHosts?.length) {
    extraHosts.forEach(parseExtraHost);
    c.extraHosts = extraHosts;
  }
  if (b.dns !== undefined && b.dns !== null) {
    const d = b.dns as Record<string, unknown>;
    if (typeof d !== "object" || Array.isArray(d))
      throw new EngineError("INVALID_ARGUMENT", "dns must be an object");
    const dns: DnsOverrides = {};
    for (const k of ["servers", "search", "options"] as const) {
      const v = strings(d[k], `dns.${k}`);
      if (v?.length) dns[k] = v;
    }
    if (Object.keys(checkDns(dns)).length) c.dns = dns;
  }
  if (c.stopSignal !== undefined) checkStopSignal(c.stopSignal);
  const healthcheck = parseHealthcheck(b.healthcheck);
  if (healthcheck) c.healthcheck = healthcheck;
  for (const k of [
    "tty",
    "openStdin",
    "stdinOnce",
    "autoRemove",
    "clientRemoves",
    "publishAll",
    "init",
  ] as const) {
    if (b[k] === undefined || b[k] === null) continue;
    if (typeof b[k] !== "boolean") throw new EngineError("INVALID_ARGUMENT", `${k} must be a boolean`);
    c[k] = b[k] as boolean;
  }
  if (b.stopTimeout !== undefined && b.stopTimeout !== null) {
    if (typeof b.stopTimeout !== "number" || !Number.isInteger(b.stopTimeout))
      throw new EngineError("INVALID_ARGUMENT", "stopTimeout must be an integer");
    c.stopTimeout = b.stopTimeout;
  }
  if (b.labels !== undefined && b.labels !== null) {
    if (typeof b.labels !== "object" || Object.values(b.labels).some((v) => typeof v !== "string"))
      throw new EngineError("INVALID_ARGUMENT", "labels must map strings to strings");
    c.labels = b.labels as Record<string, string>;
  }
  if (b.sysctls !== undefined && b.sysctls !== null) {
    const sc = b.sysctls;
    if (typeof sc !== "object" || Array.isArray(sc) || Object.values(sc).some((v) => typeof v !== "string"))
      throw new EngineError("INVALID_ARGUMENT", "sysctls must map strings to strings");
    if (Object.keys(sc).length) c.sysctls = sc as Record<string, string>;
  }
  if (b.restartPolicy !== undefined && b.restartPolicy !== null) {
    const rp = b.restartPolicy as Record<string, unknown>;
    const name = typeof rp === "object" ? rp.name : undefined;
    if (name !== undefined && name !== "") {
      const policy = parseRestartPolicy(String(name));
      if (typeof rp.maximumRetryCount === "number" && rp.maximumRetryCount > 0)
        policy.maximumRetryCount = rp.maximumRetryCount;
      if (policy.name !== "no") c.restartPolicy = policy;
    }
  }
  if (b.mounts !== undefined && b.mounts !== null) {
    if (!Array.isArray(b.mounts)) throw new EngineError("INVALID_ARGUMENT", "mounts must be an array");
    const mounts = b.mounts.map(checkMount);
    const seen = new Set<string>();
    for (const m of mounts) {
      if (seen.has(m.target)) throw new EngineError("INVALID_ARGUMENT", `Duplicate mount point: ${m.target}`);
      seen.add(m.target);
    }
    if (mounts.length) c.mounts = mounts;
  }
  if (b.logOptions !== undefined && b.logOptions !== null) {
    const opts = checkLogConfig("json-file", b.logOptions);
    if (Object.keys(opts).length) c.logOptions = opts;
  }
  if (b.systemd !== undefined && b.systemd !== null) {
    const mode = parseSystemdMode(b.systemd);
    if (mode !== "false") c.systemd = mode;
  }
  if (b.consoleSize !== undefined && b.consoleSize !== null) {
    const cs = b.consoleSize;
    if (!Array.isArray(cs) || cs.length !== 2 || cs.some((n) => !Number.isInteger(n) || n < 0 || n > 65535))
      throw new EngineError("INVALID_ARGUMENT", "consoleSize must be [height, width]");
    if (cs[0] || cs[1]) c.consoleSize = [cs[0], cs[1]];
  }
  const resources = parseResources(b.resources);
  if (resources) c.resources = resources;
  const security = parseSecurity(b.security);
  if (security) c.security = security;
  if (c.autoRemove && c.restartPolicy)
    throw new EngineError("INVALID_ARGUMENT", "conflicting options: restart policy and auto-remove");
  return c;
}

/**
 * True when the container goes once it exits (`--rm`, by pierd or by the client), so that its
 * writable layer need not survive a host crash: it is mounted `volatile`, as podman mounts a
 * `--rm` container's. Pure.
 */
export function disposableRootfs(c: ContainerConfig): boolean {
  return c.autoRemove === true || c.clientRemoves === true;
}

/**
 * The image config with the container's overrides applied as Docker does: an entrypoint given
 * replaces the image's and drops its Cmd unless a cmd is given too; env entries replace the
 * image's of the same name. Pure.
 */
export function effectiveImageConfig(image: ImageConfig, c: ContainerConfig): ImageConfig {
  const exec = { ...(image.config ?? {}) };
  if (c.entrypoint) {
    exec.Entrypoint = c.entrypoint;
    exec.Cmd = c.cmd ?? null;
  } else if (c.cmd) {
    exec.Cmd = c.cmd;
  }
  if (c.env) exec.Env = [...(exec.Env ?? []), ...c.env];
  if (c.user !== undefined) exec.User = c.user;
  if (c.workingDir !== undefined) exec.WorkingDir = c.workingDir;
  return { ...image, config: exec };
}

/** True when the container boots its command as a guest init (`--systemd`, its command). Pure. */
export function isSystemContainer(image: ImageConfig, c: ContainerConfig): boolean {
  if (!c.systemd) return false;
  const exec = effectiveImageConfig(image, c).config;
  return runsSystemd(c.systemd, [...(exec?.Entrypoint ?? []), ...(exec?.Cmd ?? [])]);
}

/**
 * Checks a cgroup parent: a cgroupfs path (absolute, or relative as Docker's cgroupfs driver
 * takes it) without `..`, or a systemd slice name; errors name the problem. Pure.
 */
export function checkCgroupParent(parent: string): void {
  try {
    if (isSliceName(parent)) expandSlice(parent);
    else cleanCgroupPath(parent, "cgroupParent");
  } catch (err) {
    throw new EngineError(
      "INVALID_ARGUMENT",
      `cgroupParent ${JSON.stringify(parent)}: ${(err as Error).message}`,
    );
  }
}

/** True when a cgroup parent is a systemd slice name (`x.slice`, no `/`), not a cgroupfs path. Pure. */
function isSliceName(parent: string): boolean {
  return parent.endsWith(".slice") && !parent.includes("/");
}

/**
 * The runtime spec's `cgroupsPath` of container `id` under `parent`: `<parent>/<id>` for a
 * cgroupfs path (as containerd and moby; a relative one stays relative, so the runtime resolves
 * it from its own cgroup as runc does); for a slice, the `pier-<id>.scope` systemd would make in
 * it, as a cgroupfs path (pier's runtime drives cgroupfs under either driver). Pure.
 */
export function cgroupsPathUnder(parent: string, id: string): string {
  if (isSliceName(parent)) return systemdCgroupPath(`${parent}:pier:${id}`);
  return `${cleanCgroupPath(parent, "cgroupParent")}/${id}`;
}

/** Inputs of {@link containerSpec} that are not in the config. */
export interface SpecContext {
  id: string;
  rootfs: string;
  files?: UserFiles;
  /** Host path of each `bind`/`volume` mount, by target (volumes resolved to their `_data`). */
  sources?: Record<string, string>;
  /** The network namespace and `/etc` files from the network service. */
  network?: NetworkSpec;
  /** What the spec depends on in the host (default: this host's, read now). */
  host?: HostFacts;
  /** Host path of the init binary (with `init`). */
  initBinary?: string;
  /** `--ipc shareable`: the host directory bound at `/dev/shm` (see ipc-shm.ts). */
  shmSource?: string;
}

/** The runtime-spec mount entries of a container's mount requests. Pure. */
export function specMounts(
  mounts: readonly MountRequest[],
  sources: Record<string, string>,
): NonNullable<Spec["mounts"]> {
  return mounts.map((m) => {
    if (m.type === "tmpfs")
      return {
        destination: m.target,
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "nodev", ...(m.readOnly ? ["ro"] : []), ...(m.options ?? [])],
      };
    const source = sources[m.target];
    if (source === undefined)
      throw new EngineError("INVALID_ARGUMENT", `invalid mount config: no source for ${m.target}`);
    return {
      destination: m.target,
      type: "bind",
      source,
      options: [m.type === "bind" ? "rbind" : "bind", m.readOnly ? "ro" : "rw"],
    };
  });
}

/**
 * The runtime spec of a container: `runc spec` defaults, the effective image config, a writable
 * rootfs at `ctx.rootfs`, the hostname (default: the first 12 characters of the id, as Docker),
 * a terminal when `tty`, the network namespace dropped for `host`, the resource limits and
 * Docker's security settings. Pure, given `ctx.host`.
 */
export function containerSpec(image: ImageConfig, c: ContainerConfig, ctx: SpecContext): Spec {
  const effective = effectiveImageConfig(image, c);
  const spec = runtimeConfigFromImage(effective, defaultRuntimeSpec(), ctx.files ?? {});
  if (!spec.process?.args?.length) throw new EngineError("INVALID_ARGUMENT", "No command specified");
  spec.process.terminal = c.tty === true;
  if (c.tty && c.consoleSize)
    spec.process.consoleSize = { height: c.consoleSize[0], width: c.consoleSize[1] };
  // As Docker: TERM=xterm with a terminal, none without unless the image or the user set one
  // (runc's default spec would give every container TERM=xterm).
  const isTerm = (e: string) => e.startsWith("TERM=");
  if (!c.tty && !effective.config?.Env?.some(isTerm))
    spec.process.env = spec.process.env?.filter((e) => !isTerm(e));
  if (c.tty && spec.process.env && !spec.process.env.some(isTerm)) spec.process.env.push("TERM=xterm");
  spec.root = { path: ctx.rootfs, readonly: false };
  spec.hostname = c.hostname ?? ctx.id.slice(0, 12);
  if (spec.process.env && !spec.process.env.some((e) => e.startsWith("HOSTNAME=")))
    spec.process.env.push(`HOSTNAME=${spec.hostname}`);
  if (c.mounts?.length) {
    // Later mounts win over the defaults (a tmpfs on /dev/shm, say), as in Docker.
    const own = specMounts(c.mounts, ctx.sources ?? {});
    const targets = new Set(own.map((m) => m.destination));
    spec.mounts = [...(spec.mounts ?? []).filter((m) => !targets.has(m.destination)), ...own];
  }
  if (ctx.network) applyNetworkSpec(spec, ctx.network);
  else if (c.networkMode === "host" && spec.linux?.namespaces) {
    spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== "network" && n.type !== "uts");
    delete spec.hostname;
  }
  if (c.cgroupParent !== undefined) {
    const linux = spec.linux ?? {};
    spec.linux = linux;
    linux.cgroupsPath = cgroupsPathUnder(c.cgroupParent, ctx.id);
  }
  const host = ctx.host ?? readHostFacts();
  checkResourcesOnHost(c.resources, host);
  applyResources(spec, c.resources, host);
  applySecurity(spec, c.security, { host, files: ctx.files ?? {}, hostname: c.hostname !== undefined });
  if (ctx.shmSource) bindShm(spec, ctx.shmSource);
  // After the security modes: the guest's cgroup namespace and writable cgroup mount are its own.
  if (isSystemContainer(image, c)) {
    if (c.security?.cgroupnsMode === "host")
      throw new EngineError(
        "INVALID_ARGUMENT",
        "--cgroupns host: a system container (--systemd) needs a private cgroup namespace",
      );
    applySystemdMode(spec, ctx.id);
  }
  if (c.sysctls) {
    const linux = spec.linux ?? {};
    spec.linux = linux;
    linux.sysctl = { ...linux.sysctl, ...c.sysctls };
    // The runtime's check, at create: `--network host` shares the host's net.* keys, say.
    try {
      planSysctls(linux.sysctl, linux.namespaces ?? []);
    } catch (err) {
      throw new EngineError("INVALID_ARGUMENT", (err as Error).message, { cause: err });
    }
  }
  if (c.init) {
    if (!ctx.initBinary) throw new EngineError("INVALID_ARGUMENT", "--init: no init binary");
    return withInit(spec, ctx.initBinary);
  }
  return spec;
}

/**
 * A runtime spec as `config.json` text: bigints (a seccomp rule's uint64 argument values,
 * RLIM_INFINITY) written as exact integers, as runc's Go structs read them. Pure.
 */
export function specText(spec: Spec): string {
  return stringifyExactJson(spec);
}

/** A `config.json` the engine wrote ({@link specText}), its seccomp values exact again. Pure. */
export function parseSpecText(text: string): Spec {
  return parseExactJson(text, SECCOMP_VALUE_KEYS) as Spec;
}

/** Refuses a stop signal the runtime cannot send, as Docker does at create. Pure. */
export function checkStopSignal(sig: string): void {
  try {
    parseSignal(sig);
  } catch {
    throw new EngineError("INVALID_ARGUMENT", `Invalid signal: ${sig}`);
  }
}
