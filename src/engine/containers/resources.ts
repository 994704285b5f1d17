/**
 * A container's resource limits (`docker run --memory`, `--cpus`, `--pids-limit`, `--ulimit`…,
 * `docker update`): their validation with Docker's rules and messages, and their place in the
 * runtime spec (`linux.resources`, `process.rlimits`, `process.oomScoreAdj`, the size of
 * `/dev/shm`), as the Docker daemon puts them there. Pure.
 */
import type { Spec } from "../../oci/runtime-spec/config.js";
import type { LinuxResources, LinuxThrottleDevice } from "../../oci/runtime-spec/resources.js";
import { RLIMITS } from "../../runtime/plan/linux-constants.js";
import { EngineError } from "../error.js";
import type { HostFacts } from "./host-facts.js";

/** A block device and a rate (bytes or operations per second) or a weight. */
export interface DeviceRate {
  path: string;
  rate: number;
}

/** A block device's blkio weight. */
export interface DeviceWeight {
  path: string;
  weight: number;
}

/** One `--ulimit NAME=SOFT[:HARD]`; `-1` is unlimited (RLIM_INFINITY), as Docker reads it. */
export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

/** RLIM_INFINITY: what `-1` means in a ulimit (Docker converts it to uint64 the same way). */
export const RLIM_INFINITY = 2n ** 64n - 1n;

/** The resource settings of a container; absent means "not limited" (Docker's zero values). */
export interface ContainerResources {
  /** Bytes (`--memory`). */
  memory?: number;
  /** Memory plus swap in bytes, `-1` unlimited (`--memory-swap`; default twice `memory`). */
  memorySwap?: number;
  /** Soft limit in bytes (`--memory-reservation`). */
  memoryReservation?: number;
  /** 0-100 (`--memory-swappiness`). */
  memorySwappiness?: number;
  /** `--oom-kill-disable`. */
  oomKillDisable?: boolean;
  /** CPUs in billionths (`--cpus 1.5` is 1.5e9). */
  nanoCpus?: number;
  /** Relative weight (`--cpu-shares`). */
  cpuShares?: number;
  /** CFS period in µs (`--cpu-period`). */
  cpuPeriod?: number;
  /** CFS quota in µs per period (`--cpu-quota`). */
  cpuQuota?: number;
  /** `--cpuset-cpus` (`0-2,4`). */
  cpusetCpus?: string;
  /** `--cpuset-mems`. */
  cpusetMems?: string;
  /** Maximum tasks (`--pids-limit`; `-1` unlimited). */
  pidsLimit?: number;
  /** 10-1000 (`--blkio-weight`). */
  blkioWeight?: number;
  blkioWeightDevice?: DeviceWeight[];
  blkioDeviceReadBps?: DeviceRate[];
  blkioDeviceWriteBps?: DeviceRate[];
  blkioDeviceReadIOps?: DeviceRate[];
  blkioDeviceWriteIOps?: DeviceRate[];
  /** `--ulimit`: soft and hard as given. */
  ulimits?: Ulimit[];
  /** Bytes of `/dev/shm` (`--shm-size`; default 64 MiB). */
  shmSize?: number;
  /** -1000..1000 (`--oom-score-adj`). */
  oomScoreAdj?: number;
  /** Huge page limits by page size (`2MB`, `1GB`), in bytes (a CRI container's `hugepage_limits`). */
  hugepageLimits?: HugepageLimit[];
  /** cgroup v2 files and their values (a CRI container's `unified`; Docker's `--cgroup-conf`-like). */
  unified?: Record<string, string>;
}

/** One huge page limit. */
export interface HugepageLimit {
  pageSize: string;
  limit: number;
}

/** The limits `docker update` may change (Docker refuses the others on a live container). */
export const UPDATABLE_RESOURCES = [
  "memory",
  "memorySwap",
  "memoryReservation",
  "nanoCpus",
  "cpuShares",
  "cpuPeriod",
  "cpuQuota",
  "cpusetCpus",
  "cpusetMems",
  "pidsLimit",
  "blkioWeight",
  "hugepageLimits",
  "unified",
] as const satisfies readonly (keyof ContainerResources)[];

const MIN_MEMORY = 6 * 1024 * 1024;
/** Docker's default `/dev/shm` size. */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

const invalid = (message: string): never => {
  throw new EngineError("INVALID_ARGUMENT", message);
};

function int(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v)) return invalid(`${what} must be an integer`);
  return v;
}

function str(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") return invalid(`${what} must be a string`);
  return v;
}

function list<T>(
  v: unknown,
  what: string,
  item: (o: Record<string, unknown>, at: string) => T,
): T[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) return invalid(`${what} must be an array`);
  const out = v.map((o, i) => {
    if (typeof o !== "object" || o === null || Array.isArray(o))
      return invalid(`${what}[${i}] must be an object`);
    return item(o as Record<string, unknown>, `${what}[${i}]`);
  });
  return out.length ? out : undefined;
}

function devicePath(o: Record<string, unknown>, at: string): string {
  const p = o.path;
  if (typeof p !== "string" || !p.startsWith("/")) return invalid(`${at}.path must be an absolute path`);
  return p;
}

const CPUSET_RE = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/** The CPU numbers of a cpuset list (`0-2,4`); `undefined` when malformed. Pure. */
export function cpusetMembers(text: string): number[] | undefined {
  if (!CPUSET_RE.test(text)) return undefined;
  const out: number[] = [];
  for (const part of text.split(",")) {
    const [a, b = a] = part.split("-").map(Number) as [number, number?];
    if (b < a || b - a > 4096) return undefined;
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

const ULIMIT_NAMES = new Set(Object.keys(RLIMITS).map((k) => k.slice("RLIMIT_".length).toLowerCase()));

/**
 * Validates untrusted resource settings (pier's API body; the Docker API maps its fields into
 * it) with Docker's rules and messages; zero values mean "unset", as in Docker. `update` reads
 * a `docker update`: only {@link UPDATABLE_RESOURCES}. Pure.
 */
export function parseResources(v: unknown, opts: { update?: boolean } = {}): ContainerResources | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) return invalid("resources must be an object");
  const b = v as Record<string, unknown>;
  const known = new Set<string>(
    opts.update
      ? UPDATABLE_RESOURCES
      : [
          ...UPDATABLE_RESOURCES,
          "memorySwappiness",
          "oomKillDisable",
          "blkioWeightDevice",
          "blkioDeviceReadBps",
          "blkioDeviceWriteBps",
          "blkioDeviceReadIOps",
          "blkioDeviceWriteIOps",
          "ulimits",
          "shmSize",
          "oomScoreAdj",
        ],
  );
  if (b.kernelMemory !== undefined && b.kernelMemory !== null && b.kernelMemory !== 0)
    invalid(
      "kernel memory limits (--kernel-memory) are not supported: deprecated by Docker, gone in cgroup v2",
    );
  for (const k of Object.keys(b))
    if (!known.has(k) && k !== "kernelMemory" && b[k] !== undefined && b[k] !== null)
      invalid(`resources.${k} is not ${opts.update ? "updatable on a container" : "a resource setting"}`);
  const r: ContainerResources = {};
  for (const k of [
    "memory",
    "memorySwap",
    "memoryReservation",
    "nanoCpus",
    "cpuShares",
    "cpuPeriod",
    "cpuQuota",
    "pidsLimit",
    "blkioWeight",
    "shmSize",
    "oomScoreAdj",
  ] as const) {
    const n = int(b[k], k);
    // Docker's zero values mean unset (pids: 0 and below mean unlimited, kept as -1).
    if (n !== undefined && n !== 0) r[k] = n;
  }
  const swappiness = int(b.memorySwappiness, "memorySwappiness");
  if (swappiness !== undefined && swappiness !== -1) {
    if (swappiness < 0 || swappiness > 100)
      invalid(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
    r.memorySwappiness = swappiness;
  }
  if (b.oomKillDisable !== undefined && b.oomKillDisable !== null) {
    if (typeof b.oomKillDisable !== "boolean") invalid("oomKillDisable must be a boolean");
    if (b.oomKillDisable) r.oomKillDisable = true;
  }
  for (const k of ["cpusetCpus", "cpusetMems"] as const) {
    const s = str(b[k], k);
    if (s === undefined) continue;
    if (!cpusetMembers(s)) invalid(`Invalid value ${s} for cpuset ${k === "cpusetCpus" ? "cpus" : "mems"}`);
    r[k] = s;
  }
  const weights = list(b.blkioWeightDevice, "blkioWeightDevice", (o, at) => {
    const weight = int(o.weight, `${at}.weight`) ?? 0;
    if (weight < 10 || weight > 1000) invalid("Range of blkio weight is from 10 to 1000");
    return { path: devicePath(o, at), weight };
  });
  if (weights) r.blkioWeightDevice = weights;
  for (const k of [
    "blkioDeviceReadBps",
    "blkioDeviceWriteBps",
    "blkioDeviceReadIOps",
    "blkioDeviceWriteIOps",
  ] as const) {
    const rates = list(b[k], k, (o, at) => {
      const rate = int(o.rate, `${at}.rate`) ?? -1;
      if (rate < 0) invalid(`${at}.rate must not be negative`);
      return { path: devicePath(o, at), rate };
    });
    if (rates) r[k] = rates;
  }
  const ulimits = list(b.ulimits, "ulimits", (o, at) => {
    const name = typeof o.name === "string" ? o.name : "";
    if (!ULIMIT_NAMES.has(name)) invalid(`invalid ulimit type: ${name || `${at}.name missing`}`);
    const soft = int(o.soft, `${at}.soft`) ?? 0;
    const hard = int(o.hard, `${at}.hard`) ?? 0;
    if (soft < -1 || hard < -1) invalid(`invalid ulimit ${name}: -1 (unlimited) is the only negative value`);
    // -1 is unlimited, above every number (a soft limit above the hard one fails setrlimit).
    if (hard !== -1 && soft === -1)
      invalid(
        `ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: ${hard}`,
      );
    if (hard !== -1 && soft > hard)
      invalid(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
    return { name, soft, hard };
  });
  if (ulimits) {
    const names = new Set<string>();
    for (const u of ulimits) {
      if (names.has(u.name)) invalid(`ulimit ${u.name} given twice`);
      names.add(u.name);
    }
    r.ulimits = ulimits;
  }
  const hugepages = list(b.hugepageLimits, "hugepageLimits", (o, at) => {
    const pageSize = str(o.pageSize, `${at}.pageSize`) ?? "";
    if (!/^\d+[KMGT]B$/.test(pageSize))
      invalid(`${at}.pageSize ${JSON.stringify(pageSize)}: want a size like 2MB`);
    const limit = int(o.limit, `${at}.limit`) ?? 0;
    if (limit < 0) invalid(`${at}.limit must not be negative`);
    return { pageSize, limit };
  });
  if (hugepages) r.hugepageLimits = hugepages;
  if (b.unified !== undefined && b.unified !== null) {
    const u = b.unified;
    if (typeof u !== "object" || Array.isArray(u) || Object.values(u).some((x) => typeof x !== "string"))
      invalid("unified must map cgroup file names to strings");
    for (const k of Object.keys(u as object))
      if (!/^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/.test(k))
        invalid(`unified: ${JSON.stringify(k)} is not a cgroup file name`);
    if (Object.keys(u as object).length) r.unified = { ...(u as Record<string, string>) };
  }
  checkResources(r, opts.update === true);
  return Object.keys(r).length ? r : undefined;
}

function checkResources(r: ContainerResources, update: boolean): void {
  if (r.memory !== undefined && r.memory < MIN_MEMORY) invalid("Minimum memory limit allowed is 6MB");
  if (r.memorySwap !== undefined && r.memorySwap < -1)
    invalid("memory-swap must be -1 (unlimited) or at least the memory limit");
  if (r.memory !== undefined && r.memorySwap !== undefined && r.memorySwap > 0 && r.memorySwap < r.memory)
    invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
  if (!update && r.memory === undefined && r.memorySwap !== undefined && r.memorySwap > 0)
    invalid("You should always set the Memory limit when using Memoryswap limit, see usage");
  if (r.memoryReservation !== undefined && r.memoryReservation < MIN_MEMORY)
    invalid("Minimum memory reservation allowed is 6MB");
  if (r.memory !== undefined && r.memoryReservation !== undefined && r.memory < r.memoryReservation)
    invalid("Minimum memory limit can not be less than memory reservation limit, see usage");
  if (r.nanoCpus !== undefined && r.cpuPeriod !== undefined)
    invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (r.nanoCpus !== undefined && r.cpuQuota !== undefined)
    invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  if (r.nanoCpus !== undefined && r.nanoCpus < 0) invalid("Range of CPUs is from 0.01 to the number of CPUs");
  if (r.cpuShares !== undefined && r.cpuShares < 0) invalid("cpu-shares must not be negative");
  if (r.cpuPeriod !== undefined && (r.cpuPeriod < 1000 || r.cpuPeriod > 1000000))
    invalid("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  if (r.cpuQuota !== undefined && r.cpuQuota > 0 && r.cpuQuota < 1000)
    invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (r.pidsLimit !== undefined && r.pidsLimit < 0) r.pidsLimit = -1;
  if (r.blkioWeight !== undefined && (r.blkioWeight < 10 || r.blkioWeight > 1000))
    invalid("Range of blkio weight is from 10 to 1000");
  if (r.oomScoreAdj !== undefined && (r.oomScoreAdj < -1000 || r.oomScoreAdj > 1000))
    invalid(`Invalid value ${r.oomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  if (r.shmSize !== undefined && r.shmSize < 0) invalid("SHM size can not be less than 0");
}

/**
 * The limits after a `docker update`: the given ones replace the old ones (`--cpus` and the
 * CFS period/quota replace each other); a default swap limit follows the memory limit. Pure.
 */
export function mergeResources(
  old: ContainerResources | undefined,
  update: ContainerResources,
): ContainerResources {
  const out: ContainerResources = { ...old, ...update };
  if (update.nanoCpus !== undefined) {
    delete out.cpuPeriod;
    delete out.cpuQuota;
  }
  if ((update.cpuPeriod !== undefined || update.cpuQuota !== undefined) && update.nanoCpus === undefined)
    delete out.nanoCpus;
  checkResources(out, false);
  return out;
}

/** Checks the limits against the host (CPUs that exist, a blkio weight file; Docker's messages). Pure. */
export function checkResourcesOnHost(
  r: ContainerResources | undefined,
  host: Pick<HostFacts, "cpus" | "blkioWeight" | "swapLimit">,
): void {
  if (!r) return;
  // Docker discards these with a warning there; pier refuses what it would not apply.
  if ((r.blkioWeight !== undefined || r.blkioWeightDevice) && !host.blkioWeight)
    invalid(
      `${r.blkioWeight !== undefined ? "--blkio-weight" : "--blkio-weight-device"} is not applied on this host: its kernel has no Block I/O weight (no blkio.weight or blkio.bfq.weight on cgroup v1, io.weight or io.bfq.weight on v2: the BFQ or CFQ I/O scheduler is not in use); Docker drops it with a warning, pier refuses it`,
    );
  if (r.memorySwap !== undefined && r.memorySwap > 0 && !host.swapLimit)
    invalid(
      "--memory-swap is not applied on this host: its kernel has no swap accounting (no memory.memsw.limit_in_bytes on cgroup v1, no memory.swap.max on v2; boot with swapaccount=1 where the kernel has CONFIG_MEMCG_SWAP); Docker drops it with a warning, pier refuses it",
    );
  if (r.nanoCpus !== undefined && r.nanoCpus > host.cpus * 1e9)
    invalid(`Range of CPUs is from 0.01 to ${host.cpus}.00, as there are only ${host.cpus} CPUs available`);
  if (r.cpusetCpus !== undefined) {
    const bad = cpusetMembers(r.cpusetCpus)?.filter((c) => c >= host.cpus) ?? [];
    if (bad.length)
      invalid(`Requested CPUs are not available - requested ${r.cpusetCpus}, available: 0-${host.cpus - 1}`);
  }
}

const CFS_PERIOD = 100000;

/**
 * The runtime-spec `linux.resources` of the limits (without devices), as moby fills them:
 * `--cpus` as a quota over a 100 ms period, swap twice the memory unless given. Pure.
 */
export function linuxResources(
  r: ContainerResources,
  host: Pick<HostFacts, "device" | "swapLimit">,
): LinuxResources {
  const out: LinuxResources = {};
  const memory: NonNullable<LinuxResources["memory"]> = {};
  // Without swap accounting there is no swap limit to write (an explicit one was refused).
  if (r.memory !== undefined) {
    memory.limit = r.memory;
    if (host.swapLimit) memory.swap = r.memorySwap ?? r.memory * 2;
  } else if (r.memorySwap !== undefined && host.swapLimit) memory.swap = r.memorySwap;
  if (r.memoryReservation !== undefined) memory.reservation = r.memoryReservation;
  if (r.memorySwappiness !== undefined) memory.swappiness = r.memorySwappiness;
  if (r.oomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) out.memory = memory;
  const cpu: NonNullable<LinuxResources["cpu"]> = {};
  if (r.cpuShares !== undefined) cpu.shares = r.cpuShares;
  if (r.nanoCpus !== undefined) {
    cpu.period = CFS_PERIOD;
    cpu.quota = Math.round((r.nanoCpus * CFS_PERIOD) / 1e9);
  }
  if (r.cpuPeriod !== undefined) cpu.period = r.cpuPeriod;
  if (r.cpuQuota !== undefined) cpu.quota = r.cpuQuota;
  if (r.cpusetCpus !== undefined) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems !== undefined) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (r.pidsLimit !== undefined) out.pids = { limit: r.pidsLimit };
  const io: NonNullable<LinuxResources["blockIO"]> = {};
  if (r.blkioWeight !== undefined) io.weight = r.blkioWeight;
  if (r.blkioWeightDevice)
    io.weightDevice = r.blkioWeightDevice.map((d) => {
      const n = host.device(d.path);
      return { major: n.major, minor: n.minor, weight: d.weight };
    });
  const throttle = (rates: DeviceRate[] | undefined): LinuxThrottleDevice[] | undefined =>
    rates?.map((d) => {
      const n = host.device(d.path);
      return { major: n.major, minor: n.minor, rate: d.rate };
    });
  const pairs = [
    ["throttleReadBpsDevice", r.blkioDeviceReadBps],
    ["throttleWriteBpsDevice", r.blkioDeviceWriteBps],
    ["throttleReadIOPSDevice", r.blkioDeviceReadIOps],
    ["throttleWriteIOPSDevice", r.blkioDeviceWriteIOps],
  ] as const;
  for (const [key, rates] of pairs) {
    const t = throttle(rates);
    if (t) io[key] = t;
  }
  if (Object.keys(io).length) out.blockIO = io;
  if (r.hugepageLimits) out.hugepageLimits = r.hugepageLimits.map((h) => ({ ...h }));
  if (r.unified) out.unified = { ...r.unified };
  return out;
}

/**
 * Puts the limits into `spec`: `linux.resources` (device rules kept), the rlimits (only the
 * `--ulimit` ones: Docker sets none of its own, the process inherits the daemon's; the 1024
 * open files of `runc spec` are not Docker's), the OOM score, and the size of `/dev/shm`. Pure.
 */
export function applyResources(
  spec: Spec,
  r: ContainerResources | undefined,
  host: Pick<HostFacts, "device" | "swapLimit">,
): void {
  // Only the default one (source `shm`): a user tmpfs mount on /dev/shm keeps its own size.
  const shm = spec.mounts?.find((m) => m.destination === "/dev/shm" && m.source === "shm");
  if (shm)
    shm.options = [
      ...(shm.options ?? []).filter((o) => !o.startsWith("size=")),
      `size=${r?.shmSize ?? DEFAULT_SHM_SIZE}`,
    ];
  const proc = spec.process;
  if (proc)
    proc.rlimits = (r?.ulimits ?? []).map((u) => ({
      type: `RLIMIT_${u.name.toUpperCase()}`,
      soft: u.soft === -1 ? RLIM_INFINITY : u.soft,
      hard: u.hard === -1 ? RLIM_INFINITY : u.hard,
    }));
  if (!r) return;
  const linux = spec.linux ?? {};
  spec.linux = linux;
  linux.resources = { ...linux.resources, ...linuxResources(r, host) };
  if (proc && r.oomScoreAdj !== undefined) proc.oomScoreAdj = r.oomScoreAdj;
}
