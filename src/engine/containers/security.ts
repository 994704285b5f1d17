/**
 * A container's security settings as Docker has them: its default capability set (14),
 * `--cap-add`/`--cap-drop` (with `ALL`), `--privileged`, `--read-only`, `--security-opt`
 * (seccomp, no-new-privileges, apparmor and label as Docker takes them on a host without those
 * modules), `--device`, `--device-cgroup-rule`, `--group-add`, and the namespace modes
 * `--pid`, `--ipc`, `--uts`, `--userns`, `--cgroupns`. Validation and the changes to the
 * runtime spec, as moby's `daemon/oci_linux.go` makes them. Pure.
 */

import { isPierError } from "../../errors.js";
import { parseGroup, type UserFiles } from "../../image/bundle-config-user.js";
import type { Spec } from "../../oci/runtime-spec/config.js";
import type { LinuxDeviceCgroup } from "../../oci/runtime-spec/resources.js";
import type { LinuxSeccomp } from "../../oci/runtime-spec/seccomp.js";
import { CAPABILITIES } from "../../runtime/plan/linux-constants.js";
import { DOCKER_DEFAULT_CAPS, dockerDefaultSeccompProfile } from "../../runtime/seccomp/docker-default.js";
import {
  type DockerSeccompProfile,
  parseDockerSeccomp,
  renderDockerSeccomp,
  type SeccompRenderContext,
} from "../../runtime/seccomp/docker-profile.js";
import { EngineError } from "../error.js";
import type { HostFacts } from "./host-facts.js";

/** Docker's default capabilities (shared with build steps, below the engine). */
export { DOCKER_DEFAULT_CAPS };

/** Docker's masked paths (moby's `oci.DefaultSpec`): the runtime bind-mounts nothing over them. */
export const DOCKER_MASKED_PATHS = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

/** Docker's read-only paths. */
export const DOCKER_READONLY_PATHS = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

/** One `--device HOST[:CONTAINER[:PERMS]]`. */
export interface DeviceMapping {
  pathOnHost: string;
  pathInContainer: string;
  /** `r`, `w`, `m` combined (default `rwm`). */
  cgroupPermissions: string;
}

/** The security settings of a container; absent fields are Docker's defaults. */
export interface ContainerSecurity {
  privileged?: boolean;
  /** `CAP_…` names or `ALL`. */
  capAdd?: string[];
  capDrop?: string[];
  /** `--read-only`: the root filesystem (and /etc/hosts, resolv.conf, hostname) read-only. */
  readonlyRootfs?: boolean;
  /** `--security-opt` entries as given (inspect shows them). */
  securityOpt?: string[];
  devices?: DeviceMapping[];
  /** `c 1:3 mr`-style rules (`--device-cgroup-rule`). */
  deviceCgroupRules?: string[];
  /** Group names or ids (`--group-add`). */
  groupAdd?: string[];
  /** `host` (pier never remaps users). */
  usernsMode?: string;
  /** `private` or `host` (the default on cgroup v1, as Docker). */
  cgroupnsMode?: string;
  /** `private`, `shareable`, `none`, `host` or `container:NAME`. */
  ipcMode?: string;
  /** `host` or `container:NAME`. */
  pidMode?: string;
  /** `host` or `container:NAME` (a CRI pod's containers join their sandbox's; Docker has only `host`). */
  utsMode?: string;
  /** Replace Docker's masked / read-only paths (what `--security-opt systempaths=unconfined` sends). */
  maskedPaths?: string[];
  readonlyPaths?: string[];
}

/** What `--security-opt` entries say. */
export interface SecurityOptions {
  /** `unconfined`, or a Docker profile's JSON text; absent: Docker's default profile. */
  seccomp?: string;
  noNewPrivileges: boolean;
  apparmor?: string;
  labels: string[];
}

const invalid = (message: string): never => {
  throw new EngineError("INVALID_ARGUMENT", message);
};

/** `sys_admin`, `CAP_SYS_ADMIN` → `CAP_SYS_ADMIN`; `all` → `ALL`; unknown → Docker's error. Pure. */
export function normalizeCap(name: string): string {
  const upper = name.toUpperCase();
  if (upper === "ALL") return "ALL";
  const cap = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  if (!(cap in CAPABILITIES)) invalid(`unknown capability: ${JSON.stringify(cap)}`);
  return cap;
}

/** Every capability of `available` (numbers: the daemon's bounding set), by number. Pure. */
export function allCaps(available: readonly number[]): string[] {
  return Object.entries(CAPABILITIES)
    .filter(([, n]) => available.includes(n))
    .sort((a, b) => a[1] - b[1])
    .map(([name]) => name);
}

/**
 * The create warnings of a `--privileged` container on a host whose daemon lacks capabilities
 * the kernel knows (pierd in a sandbox): it gets pierd's bounding set, as with podman, where
 * Docker asks for every capability and fails to start. Empty where nothing is missing. Pure.
 */
export function privilegedWarnings(
  sec: ContainerSecurity | undefined,
  host: Pick<HostFacts, "boundingSet" | "lastCap">,
): string[] {
  if (!sec?.privileged) return [];
  const missing = Object.entries(CAPABILITIES)
    .filter(([, n]) => n <= host.lastCap && !host.boundingSet.includes(n))
    .sort((a, b) => a[1] - b[1])
    .map(([name]) => name);
  return missing.length
    ? [
        `--privileged: pierd's own bounding set lacks ${missing.join(", ")}: the container gets every other capability (Docker would ask for these too and fail to start)`,
      ]
    : [];
}

/**
 * The capability set of a container (moby's `TweakCapabilities`): every one available with
 * `--privileged`; else Docker's default set (none with `--cap-drop ALL`, all with
 * `--cap-add ALL`), then the drops, then the adds. Pure.
 */
export function containerCaps(sec: ContainerSecurity | undefined, available: readonly number[]): string[] {
  const all = allCaps(available);
  if (sec?.privileged) return all;
  const add = sec?.capAdd ?? [];
  const drop = sec?.capDrop ?? [];
  let caps: string[];
  if (add.includes("ALL")) caps = all;
  else if (drop.includes("ALL")) caps = [];
  else caps = [...DOCKER_DEFAULT_CAPS];
  if (!add.includes("ALL")) caps = caps.filter((c) => !drop.includes(c));
  for (const c of add) {
    if (c === "ALL" || caps.includes(c)) continue;
    if (!all.includes(c)) invalid(`capability ${c} is not available: pierd itself does not hold it`);
    caps.push(c);
  }
  if (add.includes("ALL")) caps = caps.filter((c) => !drop.includes(c));
  return caps;
}

/** Reads `--security-opt` entries with moby's grammar and messages. Pure. */
export function parseSecurityOpts(opts: readonly string[] | undefined): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, labels: [] };
  for (const opt of opts ?? []) {
    if (opt === "no-new-privileges") {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === "disable") {
      out.labels.push("disable");
      continue;
    }
    const sep = opt.includes("=") ? "=" : opt.includes(":") ? ":" : undefined;
    if (!sep) return invalid(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const at = opt.indexOf(sep);
    const k = opt.slice(0, at);
    const v = opt.slice(at + 1);
    if (k === "label") out.labels.push(v);
    else if (k === "apparmor") out.apparmor = v;
    else if (k === "seccomp") out.seccomp = v;
    else if (k === "no-new-privileges") {
      if (!/^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/.test(v))
        invalid(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
      out.noNewPrivileges = /^(1|t|T|TRUE|true|True)$/.test(v);
    } else invalid(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
  }
  if (out.seccomp !== undefined && out.seccomp !== "unconfined")
    profileInput(() => parseDockerSeccomp(out.seccomp!));
  return out;
}

function strings(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string"))
    return invalid(`${what} must be an array of strings`);
  return v as string[];
}

function mode(v: unknown, re: RegExp, message: string): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string" || !re.test(v)) return invalid(`${message}: ${JSON.stringify(v)}`);
  return v;
}

const DEVICE_RULE_RE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** Validates untrusted security settings (pier's API body; the Docker API maps into it). Pure. */
export function parseSecurity(v: unknown): ContainerSecurity | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) return invalid("security must be an object");
  const b = v as Record<string, unknown>;
  const known = new Set([
    "privileged",
    "capAdd",
    "capDrop",
    "readonlyRootfs",
    "securityOpt",
    "devices",
    "deviceCgroupRules",
    "groupAdd",
    "usernsMode",
    "cgroupnsMode",
    "ipcMode",
    "pidMode",
    "utsMode",
    "maskedPaths",
    "readonlyPaths",
  ]);
  for (const k of Object.keys(b))
    if (!known.has(k) && b[k] !== undefined && b[k] !== null)
      invalid(`security.${k} is not a security setting`);
  const s: ContainerSecurity = {};
  for (const k of ["privileged", "readonlyRootfs"] as const) {
    if (b[k] === undefined || b[k] === null) continue;
    if (typeof b[k] !== "boolean") invalid(`${k} must be a boolean`);
    if (b[k]) s[k] = true;
  }
  for (const k of ["capAdd", "capDrop"] as const) {
    const caps = strings(b[k], k)?.map(normalizeCap);
    if (caps?.length) s[k] = caps;
  }
  const opts = strings(b.securityOpt, "securityOpt");
  if (opts?.length) {
    parseSecurityOpts(opts);
    s.securityOpt = opts;
  }
  const rules = strings(b.deviceCgroupRules, "deviceCgroupRules");
  if (rules?.length) {
    for (const r of rules) if (!DEVICE_RULE_RE.test(r)) invalid(`invalid device cgroup format '${r}'`);
    s.deviceCgroupRules = rules;
  }
  const groups = strings(b.groupAdd, "groupAdd");
  if (groups?.length) s.groupAdd = groups;
  if (b.devices !== undefined && b.devices !== null) {
    if (!Array.isArray(b.devices)) invalid("devices must be an array");
    const devices = (b.devices as unknown[]).map((d, i) => {
      const o = (typeof d === "object" && d !== null ? d : {}) as Record<string, unknown>;
      const host = o.pathOnHost;
      if (typeof host !== "string" || !host.startsWith("/"))
        return invalid(`devices[${i}].pathOnHost must be an absolute path`);
      const inside = typeof o.pathInContainer === "string" && o.pathInContainer ? o.pathInContainer : host;
      if (!inside.startsWith("/") || inside.split("/").includes(".."))
        invalid(`devices[${i}].pathInContainer must be an absolute path without '..': ${inside}`);
      const perms =
        typeof o.cgroupPermissions === "string" && o.cgroupPermissions ? o.cgroupPermissions : "rwm";
      if (!/^[rwm]{1,3}$/.test(perms)) invalid(`invalid device mode: ${perms}`);
      return { pathOnHost: host, pathInContainer: inside, cgroupPermissions: perms };
    });
    if (devices.length) s.devices = devices;
  }
  const userns = mode(
    b.usernsMode,
    /^host$/,
    "invalid --userns (pier runs containers in the host's user namespace: only 'host')",
  );
  if (userns) s.usernsMode = userns;
  const cgroupns = mode(
    b.cgroupnsMode,
    /^(private|host)$/,
    "invalid cgroup namespace mode, expected 'private' or 'host'",
  );
  if (cgroupns) s.cgroupnsMode = cgroupns;
  const ipc = mode(
    b.ipcMode,
    /^(private|shareable|none|host|container:[a-zA-Z0-9][a-zA-Z0-9_.-]*)$/,
    "invalid IPC mode",
  );
  if (ipc) s.ipcMode = ipc;
  const pid = mode(b.pidMode, /^(host|container:[a-zA-Z0-9][a-zA-Z0-9_.-]*)$/, "invalid PID mode");
  if (pid) s.pidMode = pid;
  const uts = mode(b.utsMode, /^(host|container:[a-zA-Z0-9][a-zA-Z0-9_.-]*)$/, "invalid UTS mode");
  if (uts) s.utsMode = uts;
  for (const k of ["maskedPaths", "readonlyPaths"] as const) {
    const paths = strings(b[k], k);
    if (paths === undefined) continue;
    for (const p of paths) if (!p.startsWith("/")) invalid(`${k}: ${p} must be an absolute path`);
    s[k] = paths;
  }
  return Object.keys(s).length ? s : undefined;
}

/** The container whose namespaces `container:NAME` names, when a mode does. */
export function namespaceTarget(modeText: string | undefined): string | undefined {
  return modeText?.startsWith("container:") ? modeText.slice("container:".length) : undefined;
}

function devRule(
  type: "a" | "b" | "c",
  major: number | undefined,
  minor: number | undefined,
  access: string,
): LinuxDeviceCgroup {
  return {
    allow: true,
    type,
    ...(major !== undefined ? { major } : {}),
    ...(minor !== undefined ? { minor } : {}),
    access,
  };
}

function parseDeviceRule(text: string): LinuxDeviceCgroup {
  const m = DEVICE_RULE_RE.exec(text) as RegExpExecArray;
  const num = (s: string) => (s === "*" ? undefined : Number(s));
  return devRule(m[1] as "a" | "b" | "c", num(m[2] as string), num(m[3] as string), m[4] as string);
}

/** Inputs of {@link applySecurity} besides the settings. */
export interface SecurityContext {
  host: Pick<HostFacts, "boundingSet" | "arch" | "kernel" | "appArmor" | "selinux" | "device" | "allDevices">;
  /** The image's /etc/group, for `--group-add NAME`. */
  files?: UserFiles;
  /** The container has a hostname of its own (`--hostname`): refused with `--uts host`. */
  hostname?: boolean;
}

/**
 * Puts Docker's security settings into `spec` (a `runc spec` default with the image config
 * applied): capabilities, seccomp, no_new_privs, masked and read-only paths, devices, groups,
 * the root's writability and the namespaces. Errors name the setting. Pure.
 */
export function applySecurity(spec: Spec, sec: ContainerSecurity | undefined, ctx: SecurityContext): void {
  const opts = parseSecurityOpts(sec?.securityOpt);
  const { host } = ctx;
  if (opts.apparmor !== undefined && host.appArmor && opts.apparmor !== "unconfined")
    invalid(`--security-opt apparmor=${opts.apparmor}: pier does not apply AppArmor profiles`);
  if (host.selinux && opts.labels.some((l) => l !== "disable"))
    invalid("--security-opt label: pier does not apply SELinux labels");
  const proc = spec.process;
  const linux = spec.linux ?? {};
  spec.linux = linux;
  const privileged = sec?.privileged === true;
  const caps = containerCaps(sec, host.boundingSet);
  if (proc) {
    // As moby's SetCapabilities: a non-root user keeps only the bounding set (as execve would).
    proc.capabilities =
      proc.user.uid === 0
        ? { bounding: [...caps], effective: [...caps], permitted: [...caps] }
        : { bounding: [...caps] };
    proc.noNewPrivileges = opts.noNewPrivileges;
    for (const g of sec?.groupAdd ?? []) {
      const gid = /^\d+$/.test(g) ? Number(g) : parseGroup(ctx.files?.group).find((e) => e.name === g)?.gid;
      if (gid === undefined) throw new EngineError("INVALID_ARGUMENT", `Unable to find group ${g}`);
      if (gid > 2 ** 31 - 1) invalid(`invalid group id ${g}`);
      const gids = proc.user.additionalGids ?? [];
      if (!gids.includes(gid)) proc.user.additionalGids = [...gids, gid];
    }
  }
  if (privileged || opts.seccomp === "unconfined") delete linux.seccomp;
  else {
    const render = { caps, arch: host.arch, kernel: host.kernel };
    linux.seccomp =
      opts.seccomp !== undefined
        ? renderProfile(
            profileInput(() => parseDockerSeccomp(opts.seccomp!)),
            render,
          )
        : defaultSeccomp(render);
  }
  linux.maskedPaths = privileged ? [] : [...(sec?.maskedPaths ?? DOCKER_MASKED_PATHS)];
  linux.readonlyPaths = privileged ? [] : [...(sec?.readonlyPaths ?? DOCKER_READONLY_PATHS)];
  // Devices: Docker lets any node be created (`c *:* m`, `b *:* m`, with CAP_MKNOD) and opened
  // only when allowed; the runtime adds the nodes every container needs (/dev/null…).
  const rules: LinuxDeviceCgroup[] = privileged
    ? [{ allow: true, access: "rwm" }]
    : [
        { allow: false, access: "rwm" },
        devRule("c", undefined, undefined, "m"),
        devRule("b", undefined, undefined, "m"),
      ];
  const devices = privileged ? host.allDevices().map((d) => ({ node: d, inside: d.path })) : [];
  for (const d of sec?.devices ?? []) {
    const node = host.device(d.pathOnHost);
    devices.push({ node, inside: d.pathInContainer });
    if (!privileged) rules.push(devRule(node.type, node.major, node.minor, d.cgroupPermissions));
  }
  if (!privileged) rules.push(...(sec?.deviceCgroupRules ?? []).map(parseDeviceRule));
  linux.resources = { ...linux.resources, devices: rules };
  if (devices.length) {
    const seen = new Set<string>();
    linux.devices = devices
      .filter((d) => !seen.has(d.inside) && seen.add(d.inside))
      .map(({ node, inside }) => ({
        type: node.type,
        path: inside,
        major: node.major,
        minor: node.minor,
        fileMode: node.fileMode,
        uid: node.uid,
        gid: node.gid,
      }));
  }
  for (const m of spec.mounts ?? []) {
    // --privileged: /sys and the cgroup tree writable, as Docker mounts them.
    if (privileged && (m.destination === "/sys" || m.destination === "/sys/fs/cgroup"))
      m.options = (m.options ?? []).filter((o) => o !== "ro").concat("rw");
    // --read-only: the files Docker writes for the container follow the root.
    if (sec?.readonlyRootfs && ["/etc/hosts", "/etc/resolv.conf", "/etc/hostname"].includes(m.destination))
      m.options = (m.options ?? []).filter((o) => o !== "rw").concat("ro");
  }
  if (spec.root) spec.root.readonly = sec?.readonlyRootfs === true;
  applyNamespaceModes(spec, sec, ctx);
}

function applyNamespaceModes(spec: Spec, sec: ContainerSecurity | undefined, ctx: SecurityContext): void {
  const linux = spec.linux ?? {};
  spec.linux = linux;
  let namespaces = linux.namespaces ?? [];
  if (sec?.pidMode === "host") namespaces = namespaces.filter((n) => n.type !== "pid");
  if (sec?.ipcMode === "host") {
    namespaces = namespaces.filter((n) => n.type !== "ipc");
    // As Docker: the host's /dev/shm with its IPC namespace.
    spec.mounts = (spec.mounts ?? []).map((m) =>
      m.destination === "/dev/shm"
        ? { destination: "/dev/shm", type: "bind", source: "/dev/shm", options: ["rbind", "rprivate", "rw"] }
        : m,
    );
  }
  if (sec?.ipcMode === "none") spec.mounts = (spec.mounts ?? []).filter((m) => m.destination !== "/dev/shm");
  if (sec?.utsMode === "host") {
    if (ctx.hostname) invalid("Conflicting options: hostname and the UTS mode");
    namespaces = namespaces.filter((n) => n.type !== "uts");
    delete spec.hostname;
    if (spec.process?.env) spec.process.env = spec.process.env.filter((e) => !e.startsWith("HOSTNAME="));
  }
  // The hostname is the UTS namespace's: a joined one (at each start) keeps its own.
  if (namespaceTarget(sec?.utsMode) !== undefined) {
    if (ctx.hostname) invalid("Conflicting options: hostname and the UTS mode");
    delete spec.hostname;
  }
  namespaces = namespaces.filter((n) => n.type !== "cgroup");
  if (sec?.cgroupnsMode === "private") namespaces.push({ type: "cgroup" });
  linux.namespaces = namespaces;
}

/** The namespace kinds a container may join from another container (`container:NAME` modes). */
export const JOINABLE_NAMESPACES = { pid: "pidMode", ipc: "ipcMode", uts: "utsMode" } as const;

/**
 * Joins the namespaces that `--pid container:NAME` / `--ipc container:NAME` (and a CRI
 * container's UTS mode) name, through the other container's process (`pid`), at each start as
 * Docker does. Pure.
 */
export function joinContainerNamespaces(
  spec: Spec,
  joins: Partial<Record<keyof typeof JOINABLE_NAMESPACES, number>>,
): void {
  const linux = spec.linux ?? {};
  spec.linux = linux;
  for (const type of Object.keys(JOINABLE_NAMESPACES) as (keyof typeof JOINABLE_NAMESPACES)[]) {
    const pid = joins[type];
    if (pid === undefined) continue;
    linux.namespaces = [
      ...(linux.namespaces ?? []).filter((n) => n.type !== type),
      { type, path: `/proc/${pid}/ns/${type}` },
    ];
  }
}

/** A user's seccomp profile error is a bad argument of the request, as Docker answers it. */
function profileInput<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isPierError(err, "INVALID_PROFILE"))
      throw new EngineError("INVALID_ARGUMENT", err.message, { cause: err });
    throw err;
  }
}

function renderProfile(profile: DockerSeccompProfile, ctx: SeccompRenderContext): LinuxSeccomp {
  return profileInput(() => renderDockerSeccomp(profile, ctx));
}

/** Docker's default profile rendered, by capabilities, architecture and kernel (see defaultSeccomp). */
const renderedDefaults = new Map<string, LinuxSeccomp>();

/**
 * Docker's default profile rendered for `ctx`: the same few capability sets come back for nearly
 * every container, and rendering (filtering and validating ~400 rules) took 2-3 ms of each
 * create. Kept frozen, as the specs that share it only serialize it; at most 32 variants.
 */
function defaultSeccomp(ctx: SeccompRenderContext): LinuxSeccomp {
  const key = JSON.stringify([ctx.arch, ctx.kernel, [...ctx.caps].sort()]);
  let rendered = renderedDefaults.get(key);
  if (!rendered) {
    rendered = deepFreeze(renderProfile(dockerDefaultSeccompProfile(), ctx));
    if (renderedDefaults.size >= 32) renderedDefaults.clear();
    renderedDefaults.set(key, rendered);
  }
  return rendered;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
