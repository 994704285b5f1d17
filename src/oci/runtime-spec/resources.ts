/**
 * The runtime-spec `linux.resources` object (config-linux.md, "Control groups"): its TypeScript
 * shape and the validation of untrusted JSON into it.
 *
 * Numbers follow the spec's Go types: `int64` may be negative (`-1` means unlimited where the
 * spec says so), `uint64`/`uint32`/`uint16` may not. JSON numbers beyond 2^53 lose precision in
 * JavaScript; they are accepted as long as they are integers, since they only ever mean "no limit".
 */
import { arrayAt, invalidAt, objectAt, present } from "./json-checks.js";

/** One entry of the device allow list (`linux.resources.devices[]`). */
export interface LinuxDeviceCgroup {
  allow: boolean;
  /** `a` (all), `c` (char) or `b` (block); absent means `a`. */
  type?: "a" | "c" | "b";
  /** Absent means every major (`*`). */
  major?: number;
  /** Absent means every minor (`*`). */
  minor?: number;
  /** A combination of `r`, `w`, `m`; absent means `rwm`. */
  access?: string;
}

/** `linux.resources.memory`: bytes, `-1` for unlimited. */
export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  /** Memory plus swap (the cgroup v1 `memsw` meaning), not swap alone. */
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

/** `linux.resources.cpu`. */
export interface LinuxCPU {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

/** One `blockIO.weightDevice[]` entry. */
export interface LinuxWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

/** One `blockIO.throttle*Device[]` entry. */
export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

/** `linux.resources.blockIO`. */
export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

/** One `linux.resources.hugepageLimits[]` entry. */
export interface LinuxHugepageLimit {
  /** `<size><K|M|G>B`, e.g. `2MB`, `1GB`, `64KB`. */
  pageSize: string;
  limit: number;
}

/** One `network.priorities[]` entry. */
export interface LinuxInterfacePriority {
  name: string;
  priority: number;
}

/** `linux.resources.network` (cgroup v1 `net_cls` and `net_prio`). */
export interface LinuxNetwork {
  classID?: number;
  priorities?: LinuxInterfacePriority[];
}

/** `linux.resources.pids`. */
export interface LinuxPids {
  /** `-1` (or `0` in runc's reading) means no limit; see the controllers. */
  limit?: number;
}

/** One `linux.resources.rdma` value. */
export interface LinuxRdma {
  hcaHandles?: number;
  hcaObjects?: number;
}

/** The runtime-spec `linux.resources` object. */
export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  pids?: LinuxPids;
  rdma?: Record<string, LinuxRdma>;
  /** cgroup v2 file name to content, written as-is. */
  unified?: Record<string, string>;
}

type Kind = "int64" | "uint64" | "uint32" | "uint16";

const UINT32_MAX = 0xffff_ffff;
const UINT16_MAX = 0xffff;

function integerAt(value: unknown, path: string, kind: Kind): number {
  if (typeof value !== "number" || !Number.isInteger(value)) invalidAt(path, "must be an integer");
  if (kind !== "int64" && value < 0) invalidAt(path, "must not be negative");
  if (kind === "uint32" && value > UINT32_MAX) invalidAt(path, `must be at most ${UINT32_MAX}`);
  if (kind === "uint16" && value > UINT16_MAX) invalidAt(path, `must be at most ${UINT16_MAX}`);
  return value;
}

function copyIntegers(
  src: Record<string, unknown>,
  path: string,
  fields: Readonly<Record<string, Kind>>,
  out: Record<string, unknown>,
): void {
  for (const [key, kind] of Object.entries(fields)) {
    if (present(src, key)) out[key] = integerAt(src[key], `${path}.${key}`, kind);
  }
}

function copyBooleans(
  src: Record<string, unknown>,
  path: string,
  keys: string[],
  out: Record<string, unknown>,
): void {
  for (const key of keys) {
    if (!present(src, key)) continue;
    if (typeof src[key] !== "boolean") invalidAt(`${path}.${key}`, "must be a boolean");
    out[key] = src[key];
  }
}

function validateDevice(value: unknown, path: string): LinuxDeviceCgroup {
  const obj = objectAt(value, path);
  if (typeof obj.allow !== "boolean") invalidAt(`${path}.allow`, "is required and must be a boolean");
  const out: LinuxDeviceCgroup = { allow: obj.allow };
  if (present(obj, "type")) {
    if (obj.type !== "a" && obj.type !== "c" && obj.type !== "b")
      invalidAt(`${path}.type`, 'must be "a", "c" or "b"');
    out.type = obj.type;
  }
  if (present(obj, "major")) out.major = integerAt(obj.major, `${path}.major`, "int64");
  if (present(obj, "minor")) out.minor = integerAt(obj.minor, `${path}.minor`, "int64");
  if (present(obj, "access")) {
    const access = obj.access;
    if (typeof access !== "string" || !/^[rwm]*$/.test(access) || new Set(access).size !== access.length) {
      invalidAt(`${path}.access`, 'must combine "r", "w" and "m", each at most once');
    }
    out.access = access;
  }
  return out;
}

function validateMemory(value: unknown, path: string): LinuxMemory {
  const obj = objectAt(value, path);
  const out: Record<string, unknown> = {};
  copyIntegers(
    obj,
    path,
    {
      limit: "int64",
      reservation: "int64",
      swap: "int64",
      kernel: "int64",
      kernelTCP: "int64",
      swappiness: "uint64",
    },
    out,
  );
  if (typeof out.swappiness === "number" && out.swappiness > 100)
    invalidAt(`${path}.swappiness`, "must be from 0 to 100");
  copyBooleans(obj, path, ["disableOOMKiller", "useHierarchy", "checkBeforeUpdate"], out);
  return out as LinuxMemory;
}

const CPU_LIST = /^(\d+(-\d+)?)(,\d+(-\d+)?)*$/;

function validateCpu(value: unknown, path: string): LinuxCPU {
  const obj = objectAt(value, path);
  const out: Record<string, unknown> = {};
  copyIntegers(
    obj,
    path,
    {
      shares: "uint64",
      quota: "int64",
      burst: "uint64",
      period: "uint64",
      realtimeRuntime: "int64",
      realtimePeriod: "uint64",
      idle: "int64",
    },
    out,
  );
  for (const key of ["cpus", "mems"]) {
    if (!present(obj, key)) continue;
    const list = obj[key];
    // An empty string is how runc callers say "inherit"; anything else must be a list.
    if (typeof list !== "string" || (list !== "" && !CPU_LIST.test(list.trim()))) {
      invalidAt(`${path}.${key}`, 'must be a list such as "0-3,7"');
    }
    out[key] = list;
  }
  const { quota, burst } = out as LinuxCPU;
  if (burst !== undefined && quota !== undefined && quota > 0 && burst > quota) {
    invalidAt(`${path}.burst`, `must not exceed quota (${quota})`);
  }
  return out as LinuxCPU;
}

function validateThrottle(value: unknown, path: string): LinuxThrottleDevice[] {
  return arrayAt(value, path).map((entry, i) => {
    const p = `${path}[${i}]`;
    const obj = objectAt(entry, p);
    for (const key of ["major", "minor", "rate"])
      if (!present(obj, key)) invalidAt(`${p}.${key}`, "is required");
    return {
      major: integerAt(obj.major, `${p}.major`, "int64"),
      minor: integerAt(obj.minor, `${p}.minor`, "int64"),
      rate: integerAt(obj.rate, `${p}.rate`, "uint64"),
    };
  });
}

function validateBlockIO(value: unknown, path: string): LinuxBlockIO {
  const obj = objectAt(value, path);
  const out: LinuxBlockIO = {};
  copyIntegers(obj, path, { weight: "uint16", leafWeight: "uint16" }, out as Record<string, unknown>);
  if (present(obj, "weightDevice")) {
    out.weightDevice = arrayAt(obj.weightDevice, `${path}.weightDevice`).map((entry, i) => {
      const p = `${path}.weightDevice[${i}]`;
      const e = objectAt(entry, p);
      for (const key of ["major", "minor"]) if (!present(e, key)) invalidAt(`${p}.${key}`, "is required");
      const dev: LinuxWeightDevice = {
        major: integerAt(e.major, `${p}.major`, "int64"),
        minor: integerAt(e.minor, `${p}.minor`, "int64"),
      };
      copyIntegers(
        e,
        p,
        { weight: "uint16", leafWeight: "uint16" },
        dev as unknown as Record<string, unknown>,
      );
      if (dev.weight === undefined && dev.leafWeight === undefined)
        invalidAt(p, 'needs "weight" or "leafWeight"');
      return dev;
    });
  }
  for (const key of [
    "throttleReadBpsDevice",
    "throttleWriteBpsDevice",
    "throttleReadIOPSDevice",
    "throttleWriteIOPSDevice",
  ] as const) {
    if (present(obj, key)) out[key] = validateThrottle(obj[key], `${path}.${key}`);
  }
  return out;
}

/** The page-size grammar of `hugepageLimits[].pageSize` (base-1024 units). */
export const HUGEPAGE_SIZE = /^[1-9][0-9]*[KMG]B$/;

function validateHugepages(value: unknown, path: string): LinuxHugepageLimit[] {
  return arrayAt(value, path).map((entry, i) => {
    const p = `${path}[${i}]`;
    const obj = objectAt(entry, p);
    if (typeof obj.pageSize !== "string" || !HUGEPAGE_SIZE.test(obj.pageSize)) {
      invalidAt(`${p}.pageSize`, 'is required and must look like "2MB", "1GB" or "64KB"');
    }
    if (!present(obj, "limit")) invalidAt(`${p}.limit`, "is required");
    return { pageSize: obj.pageSize, limit: integerAt(obj.limit, `${p}.limit`, "uint64") };
  });
}

function validateNetwork(value: unknown, path: string): LinuxNetwork {
  const obj = objectAt(value, path);
  const out: LinuxNetwork = {};
  if (present(obj, "classID")) out.classID = integerAt(obj.classID, `${path}.classID`, "uint32");
  if (present(obj, "priorities")) {
    out.priorities = arrayAt(obj.priorities, `${path}.priorities`).map((entry, i) => {
      const p = `${path}.priorities[${i}]`;
      const e = objectAt(entry, p);
      // The name ends up in a line of net_prio.ifpriomap: whitespace would forge a second entry.
      if (typeof e.name !== "string" || e.name === "" || /\s/.test(e.name)) {
        invalidAt(`${p}.name`, "is required and must be an interface name without whitespace");
      }
      if (!present(e, "priority")) invalidAt(`${p}.priority`, "is required");
      return { name: e.name, priority: integerAt(e.priority, `${p}.priority`, "uint32") };
    });
  }
  return out;
}

function validateRdma(value: unknown, path: string): Record<string, LinuxRdma> {
  const obj = objectAt(value, path);
  const out: Record<string, LinuxRdma> = {};
  for (const [device, entry] of Object.entries(obj)) {
    const p = `${path}.${device}`;
    if (device === "" || /\s/.test(device))
      invalidAt(p, "device name must be non-empty and without whitespace");
    const e = objectAt(entry, p);
    const limits: LinuxRdma = {};
    copyIntegers(e, p, { hcaHandles: "uint32", hcaObjects: "uint32" }, limits as Record<string, unknown>);
    if (limits.hcaHandles === undefined && limits.hcaObjects === undefined) {
      invalidAt(p, 'needs "hcaHandles" or "hcaObjects"');
    }
    out[device] = limits;
  }
  return out;
}

/**
 * A key of `linux.resources.unified` names a file inside the container's cgroup directory; this
 * is the rule that keeps it there (no separators, no dot names).
 */
export function isSafeUnifiedKey(key: string): boolean {
  return key !== "" && key !== "." && key !== ".." && !key.includes("/") && !key.includes("\0");
}

function validateUnified(value: unknown, path: string): Record<string, string> {
  const obj = objectAt(value, path);
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(obj)) {
    if (!isSafeUnifiedKey(key)) invalidAt(`${path}.${key}`, "key must be a plain cgroup file name");
    if (typeof v !== "string") invalidAt(`${path}.${key}`, "must be a string");
    out[key] = v;
  }
  return out;
}

/**
 * Validates untrusted JSON as a `linux.resources` object and returns a clean copy holding only
 * the known fields (unknown ones are dropped, as the spec allows; `null` counts as absent).
 * Throws `OciError` `INVALID_DOCUMENT` whose message starts with the field path, e.g.
 * `linux.resources.memory.limit: must be an integer`.
 */
export function validateLinuxResources(value: unknown, path = "linux.resources"): LinuxResources {
  const obj = objectAt(value, path);
  const out: LinuxResources = {};
  if (present(obj, "devices")) {
    out.devices = arrayAt(obj.devices, `${path}.devices`).map((d, i) =>
      validateDevice(d, `${path}.devices[${i}]`),
    );
  }
  if (present(obj, "memory")) out.memory = validateMemory(obj.memory, `${path}.memory`);
  if (present(obj, "cpu")) out.cpu = validateCpu(obj.cpu, `${path}.cpu`);
  if (present(obj, "blockIO")) out.blockIO = validateBlockIO(obj.blockIO, `${path}.blockIO`);
  if (present(obj, "hugepageLimits")) {
    out.hugepageLimits = validateHugepages(obj.hugepageLimits, `${path}.hugepageLimits`);
  }
  if (present(obj, "network")) out.network = validateNetwork(obj.network, `${path}.network`);
  if (present(obj, "pids")) {
    const pids = objectAt(obj.pids, `${path}.pids`);
    out.pids = {};
    if (present(pids, "limit")) out.pids.limit = integerAt(pids.limit, `${path}.pids.limit`, "int64");
  }
  if (present(obj, "rdma")) out.rdma = validateRdma(obj.rdma, `${path}.rdma`);
  if (present(obj, "unified")) out.unified = validateUnified(obj.unified, `${path}.unified`);
  return out;
}
