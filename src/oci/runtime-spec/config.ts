/**
 * Types of the runtime-spec `config.json` (runtime-spec 1.3.0, `schema/config-schema.json` and
 * `config-linux.json`), Linux parts only. `linux.resources` and `linux.seccomp` are typed by their
 * own modules (`resources.ts`, `seccomp.ts`).
 */
import type { LinuxResources } from "./resources.js";
import type { LinuxSeccomp } from "./seccomp.js";

/** A POSIX user as `process.user` describes it. */
export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

/** The five capability sets of `process.capabilities`, as `CAP_*` names. */
export interface Capabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

/** One `process.rlimits` entry. */
export interface Rlimit {
  type: string;
  /** A uint64: RLIM_INFINITY (2^64-1) is written exactly as a bigint, read back as a number >= 2^63. */
  soft: number | bigint;
  hard: number | bigint;
}

/** `process.consoleSize`. */
export interface ConsoleSize {
  height: number;
  width: number;
}

/** `process`: what runs in the container. */
export interface Process {
  terminal?: boolean;
  consoleSize?: ConsoleSize;
  user: User;
  args?: string[];
  commandLine?: string;
  env?: string[];
  cwd: string;
  capabilities?: Capabilities;
  rlimits?: Rlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

/** `root`: the container's root filesystem. */
export interface Root {
  path: string;
  readonly?: boolean;
}

/** One `mounts` entry. */
export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

/** One hook. */
export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

/** `hooks`, by lifecycle point. */
export interface Hooks {
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

/** The namespace types of `linux.namespaces`. */
export type NamespaceType = "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup" | "time";

/** The namespace types the spec defines, in the order runtimes join them. */
export const NAMESPACE_TYPES: readonly NamespaceType[] = [
  "user",
  "pid",
  "network",
  "ipc",
  "uts",
  "mount",
  "cgroup",
  "time",
];

/** One `linux.namespaces` entry: a new namespace, or an existing one joined by `path`. */
export interface Namespace {
  type: NamespaceType;
  path?: string;
}

/** One `linux.uidMappings` / `gidMappings` entry. */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** One `linux.devices` entry. */
export interface Device {
  type: "c" | "b" | "u" | "p";
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** One `linux.timeOffsets` entry. */
export interface TimeOffset {
  secs?: number;
  nanosecs?: number;
}

/** `linux.personality`: the execution domain set with personality(2) before the process starts. */
export interface Personality {
  domain: "LINUX" | "LINUX32";
  /** The spec defines no flag values yet; kept as given. */
  flags?: string[];
}

/** `linux`: the Linux-specific configuration. */
export interface Linux {
  namespaces?: Namespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  timeOffsets?: Record<string, TimeOffset>;
  devices?: Device[];
  cgroupsPath?: string;
  resources?: LinuxResources;
  rootfsPropagation?: string;
  seccomp?: LinuxSeccomp;
  sysctl?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  personality?: Personality;
  /** Host network interfaces to move into the container (by host name; `name` renames it). */
  netDevices?: Record<string, { name?: string }>;
  intelRdt?: unknown;
}

/** A whole `config.json`. */
export interface Spec {
  ociVersion: string;
  process?: Process;
  root?: Root;
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}
