/**
 * The statistics of a cgroup in the shape of runc's `events --stats` JSON `data` field
 * (runc `types/events.go`), so `JSON.stringify(stats)` is what runc's callers parse.
 * All times are nanoseconds; byte counts are bytes; "unlimited" is 2^64-1 (as a double).
 */

/** One line of a pressure file: stall percentages over 10/60/300 s and total stall time (µs). */
export interface PsiData {
  avg10: number;
  avg60: number;
  avg300: number;
  total: number;
}

/** Pressure stall information; `full` is absent for CPU on older kernels. */
export interface PsiStats {
  some: PsiData;
  full?: PsiData;
}

/** Usage of one memory counter (`usage`, `swap`, `kernel`, `kernelTCP`). */
export interface MemoryEntry {
  limit: number;
  usage?: number;
  max?: number;
  failcnt: number;
}

/** Memory statistics. */
export interface MemoryStats {
  cache?: number;
  usage: MemoryEntry;
  swap: MemoryEntry;
  kernel: MemoryEntry;
  kernelTCP: MemoryEntry;
  /** `memory.stat` as read. */
  raw?: Record<string, number>;
  psi?: PsiStats;
}

/** CPU statistics. */
export interface CpuStats {
  usage: {
    total?: number;
    percpu?: number[];
    percpu_kernel?: number[];
    percpu_user?: number[];
    kernel: number;
    user: number;
  };
  throttling: { periods?: number; throttledPeriods?: number; throttledTime?: number };
  psi?: PsiStats;
}

/** One block I/O counter of one device and operation (`Read`, `Write`, `Sync`, `Async`, `Total`…). */
export interface BlkioEntry {
  major?: number;
  minor?: number;
  op?: string;
  value?: number;
}

/** Block I/O statistics. */
export interface BlkioStats {
  ioServiceBytesRecursive?: BlkioEntry[];
  ioServicedRecursive?: BlkioEntry[];
  psi?: PsiStats;
}

/** Huge page usage of one page size. */
export interface HugetlbStats {
  usage?: number;
  max?: number;
  failcnt: number;
}

/** cpuset statistics; the flags exist on v1 only. */
export interface CpusetStats {
  cpus?: number[];
  mems?: number[];
  cpu_exclusive?: number;
  mem_hardwall?: number;
  mem_exclusive?: number;
  memory_migrate?: number;
  memory_spread_page?: number;
  memory_spread_slab?: number;
  memory_pressure?: number;
  sched_load_balance?: number;
  sched_relax_domain_level?: number;
}

/** The whole statistics object (runc's `types.Stats`). */
export interface CgroupStats {
  cpu: CpuStats;
  cpuset: CpusetStats;
  memory: MemoryStats;
  pids: { current?: number; limit?: number };
  blkio: BlkioStats;
  /** Keyed by page size as the kernel names it (`2MB`, `1GB`). */
  hugetlb: Record<string, HugetlbStats>;
}

/** A stats object with every counter absent or zero, for the controllers to fill in. */
export function emptyStats(): CgroupStats {
  const entry = (): MemoryEntry => ({ limit: 0, failcnt: 0 });
  return {
    cpu: { usage: { kernel: 0, user: 0 }, throttling: {} },
    cpuset: {},
    memory: { usage: entry(), swap: entry(), kernel: entry(), kernelTCP: entry() },
    pids: {},
    blkio: {},
    hugetlb: {},
  };
}
