/**
 * What the CPU part of Docker's stats object is, and the percentage the docker CLI (and
 * `pier stats`) computes from it. Pure: no reading of the host, so the CLI imports it.
 */

/** Docker's `cpu_stats` / `precpu_stats`. */
export interface DockerCpuStats {
  cpu_usage: {
    total_usage: number;
    percpu_usage?: number[];
    usage_in_kernelmode: number;
    usage_in_usermode: number;
  };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

/** Docker CLI's CPU percentage from one stats object's two readings. Pure. */
export function cpuPercent(cur: DockerCpuStats, pre: DockerCpuStats): number {
  const cpuDelta = cur.cpu_usage.total_usage - pre.cpu_usage.total_usage;
  const sysDelta = (cur.system_cpu_usage ?? 0) - (pre.system_cpu_usage ?? 0);
  const online = cur.online_cpus ?? cur.cpu_usage.percpu_usage?.length ?? 1;
  return sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * online * 100 : 0;
}
