/**
 * The resource and security flags of `pier run` (and of `pier create`, `pier update`), with
 * docker's spellings and value forms, translated into the engine's `resources` and `security`
 * request fields. Validation is the engine's (one place); here only the text forms are read.
 */
import { readFileSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import { collect, collectLabel } from "../args.js";

const UNITS: Record<string, number> = {
  "": 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/** `64m`, `1.5g`, `512k`, `100` (bytes) as docker reads them (binary units). */
export function parseBytes(value: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`invalid size: '${value}'`);
  return Math.round(Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] ?? 1));
}

/** `-1` (unlimited) or a size. */
function parseSwap(value: string): number {
  return value === "-1" ? -1 : parseBytes(value);
}

function parseInteger(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`must be an integer, not "${value}"`);
  return Number(value);
}

/** `1.5` CPUs as billionths (docker's NanoCPUs). */
function parseCpus(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value))
    throw new InvalidArgumentError(`failed to parse ${value} as a rational number`);
  return Math.round(Number(value) * 1e9);
}

function collectRate(bytes: boolean) {
  return (value: string, previous: { path: string; rate: number }[] = []) => {
    const at = value.lastIndexOf(":");
    if (at <= 0) throw new InvalidArgumentError(`bad format: ${value} (expected PATH:RATE)`);
    const rate = bytes ? parseBytes(value.slice(at + 1)) : parseInteger(value.slice(at + 1));
    return [...previous, { path: value.slice(0, at), rate }];
  };
}

function collectWeight(value: string, previous: { path: string; weight: number }[] = []) {
  const at = value.lastIndexOf(":");
  if (at <= 0) throw new InvalidArgumentError(`bad format: ${value} (expected PATH:WEIGHT)`);
  return [...previous, { path: value.slice(0, at), weight: parseInteger(value.slice(at + 1)) }];
}

/** `nofile=1024[:2048]` (hard defaults to soft). */
function collectUlimit(value: string, previous: { name: string; soft: number; hard: number }[] = []) {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value);
  if (!m) throw new InvalidArgumentError(`invalid ulimit argument: ${value}`);
  const soft = Number(m[2]);
  return [...previous, { name: m[1] as string, soft, hard: m[3] === undefined ? soft : Number(m[3]) }];
}

/** `HOST[:CONTAINER][:PERMISSIONS]`, as docker's `--device`. */
function collectDevice(value: string, previous: Record<string, string>[] = []) {
  const parts = value.split(":");
  if (parts.length > 3 || !parts[0]) throw new InvalidArgumentError(`invalid device specification: ${value}`);
  const [host, second, third] = parts as [string, string?, string?];
  let inside = host;
  let perms = "rwm";
  if (third !== undefined) [inside, perms] = [second ?? host, third];
  else if (second !== undefined && /^[rwm]{1,3}$/.test(second)) perms = second;
  else if (second !== undefined) inside = second;
  return [...previous, { pathOnHost: host, pathInContainer: inside, cgroupPermissions: perms }];
}

/** `seccomp=FILE` is sent with the file's content, as the docker CLI does. */
function collectSecurityOpt(value: string, previous: string[] = []): string[] {
  const m = /^seccomp[=:](.+)$/.exec(value);
  if (m && m[1] !== "unconfined") {
    let text: string;
    try {
      text = readFileSync(m[1] as string, "utf8");
    } catch (err) {
      throw new InvalidArgumentError(`opening seccomp profile (${m[1]}) failed: ${(err as Error).message}`);
    }
    return [...previous, `seccomp=${text}`];
  }
  return [...previous, value];
}

/** The resource flags `pier update` takes too. */
export function addUpdatableLimitOptions(cmd: Command): Command {
  return cmd
    .option("-m, --memory <bytes>", "memory limit (64m, 1g)", parseBytes)
    .option("--memory-swap <bytes>", "memory plus swap limit (-1: unlimited)", parseSwap)
    .option("--memory-reservation <bytes>", "soft memory limit", parseBytes)
    .option("--cpus <n>", "number of CPUs (1.5)", parseCpus)
    .option("-c, --cpu-shares <n>", "relative CPU weight", parseInteger)
    .option("--cpu-period <us>", "CFS period", parseInteger)
    .option("--cpu-quota <us>", "CFS quota", parseInteger)
    .option("--cpuset-cpus <list>", "CPUs it may run on (0-2,4)")
    .option("--cpuset-mems <list>", "memory nodes it may use")
    .option("--pids-limit <n>", "maximum number of tasks (-1: unlimited)", parseInteger)
    .option("--blkio-weight <n>", "block I/O weight (10-1000)", parseInteger);
}

/** Registers every resource and security flag of `pier run`/`pier create` on `cmd`. */
export function addLimitAndSecurityOptions(cmd: Command): Command {
  return addUpdatableLimitOptions(cmd)
    .option("--memory-swappiness <n>", "memory swappiness (0-100)", parseInteger)
    .option(
      "--kernel-memory <bytes>",
      "kernel memory limit (refused: deprecated, gone in cgroup v2)",
      parseBytes,
    )
    .option("--oom-kill-disable", "disable the OOM killer")
    .option("--oom-score-adj <n>", "the OOM score adjustment (-1000..1000)", parseInteger)
    .option("--shm-size <bytes>", "size of /dev/shm (default 64m)", parseBytes)
    .option(
      "--cgroup-parent <path>",
      "the cgroup to put the container's under (absolute, relative, or a systemd slice name)",
    )
    .option("--ulimit <name=soft[:hard]>", "an rlimit (repeatable)", collectUlimit)
    .option("--blkio-weight-device <path:weight>", "block I/O weight of a device (repeatable)", collectWeight)
    .option("--device-read-bps <path:rate>", "read rate of a device (1mb; repeatable)", collectRate(true))
    .option("--device-write-bps <path:rate>", "write rate of a device (repeatable)", collectRate(true))
    .option(
      "--device-read-iops <path:rate>",
      "read operations per second of a device (repeatable)",
      collectRate(false),
    )
    .option(
      "--device-write-iops <path:rate>",
      "write operations per second of a device (repeatable)",
      collectRate(false),
    )
    .option("--cap-add <cap>", "add a capability (ALL: every one; repeatable)", collect)
    .option("--cap-drop <cap>", "drop a capability (ALL: every one; repeatable)", collect)
    .option("--privileged", "every capability and device, no masked paths, no seccomp")
    .option("--read-only", "mount the root filesystem read-only")
    .option(
      "--security-opt <opt>",
      "seccomp=unconfined|FILE, no-new-privileges, apparmor=, label= (repeatable)",
      collectSecurityOpt,
    )
    .option("--device <host[:ctr[:perms]]>", "add a host device (repeatable)", collectDevice)
    .option("--device-cgroup-rule <rule>", "a device cgroup rule ('c 1:3 mr'; repeatable)", collect)
    .option("--group-add <group>", "an additional group (repeatable)", collect)
    .option("--sysctl <k=v>", "a namespaced sysctl (repeatable)", collectLabel)
    .option("--userns <mode>", "user namespace mode (host)")
    .option("--cgroupns <mode>", "cgroup namespace mode (private or host)")
    .option("--ipc <mode>", "IPC mode (private, shareable, none, host, container:NAME)")
    .option("--pid <mode>", "PID namespace mode (host, container:NAME)")
    .option("--uts <mode>", "UTS namespace mode (host)");
}

/** The flag values {@link addLimitAndSecurityOptions} registers, as commander gives them. */
export interface LimitAndSecurityFlags {
  memory?: number;
  memorySwap?: number;
  memoryReservation?: number;
  memorySwappiness?: number;
  kernelMemory?: number;
  cpus?: number;
  cpuShares?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
  blkioWeight?: number;
  blkioWeightDevice?: unknown[];
  deviceReadBps?: unknown[];
  deviceWriteBps?: unknown[];
  deviceReadIops?: unknown[];
  deviceWriteIops?: unknown[];
  ulimit?: unknown[];
  oomKillDisable?: boolean;
  oomScoreAdj?: number;
  shmSize?: number;
  cgroupParent?: string;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  readOnly?: boolean;
  securityOpt?: string[];
  device?: unknown[];
  deviceCgroupRule?: string[];
  groupAdd?: string[];
  sysctl?: Record<string, string>;
  userns?: string;
  cgroupns?: string;
  ipc?: string;
  pid?: string;
  uts?: string;
}

function defined(o: Record<string, unknown>): Record<string, unknown> | undefined {
  const out = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return Object.keys(out).length ? out : undefined;
}

/** The engine's `resources` of the flags (`undefined` when none is given). */
export function resourcesOfFlags(f: LimitAndSecurityFlags): Record<string, unknown> | undefined {
  return defined({
    memory: f.memory,
    memorySwap: f.memorySwap,
    memoryReservation: f.memoryReservation,
    memorySwappiness: f.memorySwappiness,
    kernelMemory: f.kernelMemory,
    nanoCpus: f.cpus,
    cpuShares: f.cpuShares,
    cpuPeriod: f.cpuPeriod,
    cpuQuota: f.cpuQuota,
    cpusetCpus: f.cpusetCpus,
    cpusetMems: f.cpusetMems,
    pidsLimit: f.pidsLimit,
    blkioWeight: f.blkioWeight,
    blkioWeightDevice: f.blkioWeightDevice,
    blkioDeviceReadBps: f.deviceReadBps,
    blkioDeviceWriteBps: f.deviceWriteBps,
    blkioDeviceReadIOps: f.deviceReadIops,
    blkioDeviceWriteIOps: f.deviceWriteIops,
    ulimits: f.ulimit,
    oomKillDisable: f.oomKillDisable,
    oomScoreAdj: f.oomScoreAdj,
    shmSize: f.shmSize,
  });
}

/** The engine's `resources`, `security`, `sysctls` and `cgroupParent` fields of the flags, for a create body. */
export function limitAndSecurityBody(f: LimitAndSecurityFlags): Record<string, unknown> {
  const security = defined({
    privileged: f.privileged,
    capAdd: f.capAdd,
    capDrop: f.capDrop,
    readonlyRootfs: f.readOnly,
    securityOpt: f.securityOpt,
    devices: f.device,
    deviceCgroupRules: f.deviceCgroupRule,
    groupAdd: f.groupAdd,
    usernsMode: f.userns,
    cgroupnsMode: f.cgroupns,
    ipcMode: f.ipc,
    pidMode: f.pid,
    utsMode: f.uts,
  });
  const resources = resourcesOfFlags(f);
  return {
    ...(resources ? { resources } : {}),
    ...(security ? { security } : {}),
    ...(f.sysctl ? { sysctls: f.sysctl } : {}),
    ...(f.cgroupParent !== undefined ? { cgroupParent: f.cgroupParent } : {}),
  };
}

/** `pier update [flags] CONTAINER...`: new limits (and restart policy) for running or stopped containers. */
export function registerUpdateCommand(program: Command): void {
  addUpdatableLimitOptions(
    program
      .command("update")
      .description("update the resource limits (and restart policy) of containers")
      .argument("<container...>", "container names or ids")
      .option("--restart <policy>", "no, always, unless-stopped, on-failure[:N]"),
  ).action(async (containers: string[], f: LimitAndSecurityFlags & { restart?: string }) => {
    const { callJson } = await import("./engine-client.js");
    const { commandIo } = await import("../io.js");
    const resources = resourcesOfFlags(f);
    if (!resources && !f.restart)
      throw new InvalidArgumentError("you must provide one or more flags when using this command");
    const body = {
      ...(resources ? { resources } : {}),
      ...(f.restart
        ? {
            restartPolicy: {
              name: f.restart.split(":")[0],
              maximumRetryCount: Number(f.restart.split(":")[1] ?? 0),
            },
          }
        : {}),
    };
    for (const c of containers) {
      await callJson("POST", `/v1/containers/${encodeURIComponent(c)}/update`, body);
      commandIo().stdout(`${c}\n`);
    }
  });
}
