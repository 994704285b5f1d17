/**
 * Container statistics in Docker's `GET /containers/{id}/stats` shape (API 1.41): CPU, memory,
 * pids and block I/O from the container's cgroup (v1, hybrid or v2, through the runtime's cgroup
 * library in-process), network counters from the container's own network namespace.
 * The conversion is pure; {@link sampleStats} does the reading.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import type { BlkioEntry, CgroupStats } from "../runtime/cgroups/stats.js";
import type { ContainerService } from "./containers/service.js";
import type { ContainerRecord } from "./containers/store.js";
import type { DockerCpuStats } from "./stats-document.js";

/** Counters of one interface, as Docker's `networks` entries. */
export interface NetworkCounters {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** One raw reading of a running container (what two readings make a Docker stats object from). */
export interface StatsSample {
  /** ISO time of the reading. */
  read: string;
  cgroup: CgroupStats;
  /** Host CPU time in nanoseconds (`/proc/stat`), Docker's `system_cpu_usage`. */
  systemCpuNs: number;
  onlineCpus: number;
  /** Absent when the container shares the host's network namespace or has no interface but lo. */
  networks?: Record<string, NetworkCounters>;
}

/** Docker's `read`/`preread` of a missing reading. */
const ZERO_TIME = "0001-01-01T00:00:00Z";
const CLOCK_TICKS = 100;

/** Host CPU time in ns from `/proc/stat`'s `cpu` line (user..softirq, as Docker sums it). Pure. */
export function systemCpuNs(procStat: string): number {
  const line = procStat.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return 0;
  const ticks = line
    .trim()
    .split(/\s+/)
    .slice(1, 8)
    .reduce((a, b) => a + Number(b), 0);
  return (ticks * 1e9) / CLOCK_TICKS;
}

/** The interfaces of a `/proc/<pid>/net/dev` except `lo`. Pure. */
export function parseNetDev(text: string): Record<string, NetworkCounters> {
  const out: Record<string, NetworkCounters> = {};
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === "lo") continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    out[name] = {
      rx_bytes: f[0] ?? 0,
      rx_packets: f[1] ?? 0,
      rx_errors: f[2] ?? 0,
      rx_dropped: f[3] ?? 0,
      tx_bytes: f[8] ?? 0,
      tx_packets: f[9] ?? 0,
      tx_errors: f[10] ?? 0,
      tx_dropped: f[11] ?? 0,
    };
  }
  return out;
}

function cpuStats(s: StatsSample | undefined): DockerCpuStats {
  if (!s)
    return {
      cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    };
  const u = s.cgroup.cpu.usage;
  const t = s.cgroup.cpu.throttling;
  return {
    cpu_usage: {
      total_usage: u.total ?? u.kernel + u.user,
      ...(u.percpu?.length ? { percpu_usage: u.percpu } : {}),
      usage_in_kernelmode: u.kernel,
      usage_in_usermode: u.user,
    },
    system_cpu_usage: s.systemCpuNs,
    online_cpus: s.onlineCpus,
    throttling_data: {
      periods: t.periods ?? 0,
      throttled_periods: t.throttledPeriods ?? 0,
      throttled_time: t.throttledTime ?? 0,
    },
  };
}

function blkio(
  entries: BlkioEntry[] | undefined,
): { major: number; minor: number; op: string; value: number }[] {
  return (entries ?? []).map((e) => ({
    major: e.major ?? 0,
    minor: e.minor ?? 0,
    op: e.op ?? "",
    value: e.value ?? 0,
  }));
}

/**
 * Docker's stats object for `rec` from the current reading `cur` and the previous one `pre`
 * (absent for the first of a stream: `precpu_stats` is then zero, as Docker sends it). A
 * container that does not run gets the all-zero object Docker gives. The memory limit of an
 * unlimited container is the host's memory, as Docker reports it. Pure.
 */
export function dockerStats(
  rec: Pick<ContainerRecord, "id" | "name">,
  cur: StatsSample | undefined,
  pre: StatsSample | undefined,
  hostMemory: number,
): Record<string, unknown> {
  const base = { name: `/${rec.name}`, id: rec.id };
  if (!cur)
    return {
      ...base,
      read: ZERO_TIME,
      preread: ZERO_TIME,
      pids_stats: {},
      blkio_stats: {
        io_service_bytes_recursive: null,
        io_serviced_recursive: null,
        io_queue_recursive: null,
        io_service_time_recursive: null,
        io_wait_time_recursive: null,
        io_merged_recursive: null,
        io_time_recursive: null,
        sectors_recursive: null,
      },
      num_procs: 0,
      storage_stats: {},
      cpu_stats: cpuStats(undefined),
      precpu_stats: cpuStats(undefined),
      memory_stats: {},
    };
  const m = cur.cgroup.memory;
  const limit = m.usage.limit > 0 && m.usage.limit < hostMemory ? m.usage.limit : hostMemory;
  const pids = cur.cgroup.pids;
  return {
    ...base,
    read: cur.read,
    preread: pre?.read ?? ZERO_TIME,
    pids_stats: {
      ...(pids.current !== undefined ? { current: pids.current } : {}),
      ...(pids.limit !== undefined && pids.limit > 0 && pids.limit < 2 ** 53 ? { limit: pids.limit } : {}),
    },
    blkio_stats: {
      io_service_bytes_recursive: blkio(cur.cgroup.blkio.ioServiceBytesRecursive),
      io_serviced_recursive: blkio(cur.cgroup.blkio.ioServicedRecursive),
      io_queue_recursive: [],
      io_service_time_recursive: [],
      io_wait_time_recursive: [],
      io_merged_recursive: [],
      io_time_recursive: [],
      sectors_recursive: [],
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(cur),
    precpu_stats: cpuStats(pre),
    memory_stats: {
      usage: m.usage.usage ?? 0,
      ...(m.usage.max !== undefined ? { max_usage: m.usage.max } : {}),
      stats: m.raw ?? {},
      ...(m.usage.failcnt ? { failcnt: m.usage.failcnt } : {}),
      limit,
    },
    ...(cur.networks ? { networks: cur.networks } : {}),
  };
}

function ownNetns(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`) !== readlinkSync("/proc/self/ns/net");
  } catch {
    return false;
  }
}

/**
 * Reads the statistics of running container `rec` now; `undefined` when it does not run (or
 * stopped while being read).
 */
export async function sampleStats(
  svc: ContainerService,
  rec: ContainerRecord,
): Promise<StatsSample | undefined> {
  if (rec.status !== "running" || rec.pid <= 0) return undefined;
  try {
    // Loaded here so the CLI, which uses the pure half of this module, starts without them.
    const { runtimeContext } = await import("../runtime/lifecycle/context.js");
    const { openCgroup } = await import("../runtime/cgroups/manager.js");
    const ctx = runtimeContext(join(svc.execRoot, "runtime"), () => {});
    const state = await ctx.store.load(rec.id);
    const cg = await openCgroup({
      containerId: rec.id,
      ...(state.cgroupPath !== undefined ? { cgroupsPath: state.cgroupPath } : {}),
    });
    const cgroup = await cg.stats();
    let networks: Record<string, NetworkCounters> | undefined;
    if (ownNetns(rec.pid)) {
      const n = parseNetDev(readFileSync(`/proc/${rec.pid}/net/dev`, "utf8"));
      if (Object.keys(n).length) networks = n;
    }
    return {
      read: new Date().toISOString(),
      cgroup,
      systemCpuNs: systemCpuNs(readFileSync("/proc/stat", "utf8")),
      onlineCpus: cpus().length,
      ...(networks ? { networks } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The host's memory, the limit Docker reports for unlimited containers. */
export function hostMemory(): number {
  return totalmem();
}

/** Container statistics, as every API front reads them. */
export class StatsService {
  constructor(private readonly containers: ContainerService) {}

  /** A reading of running container `rec` now; `undefined` when it does not run. */
  sample(rec: ContainerRecord): Promise<StatsSample | undefined> {
    return sampleStats(this.containers, rec);
  }
}
