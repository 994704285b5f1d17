/**
 * ListMetricDescriptors and ListPodSandboxMetrics (the kubelet's cAdvisor-free metrics,
 * `PodAndContainerStatsFromCRI`): cAdvisor's metric names with CRI-O's base labels (`id`,
 * `name`, `image`), valued from the same cgroup readings as ContainerStats.
 */
import type { ContainerRecord } from "../containers/store.js";
import type { Engine } from "../engine.js";
import type { Message } from "./grpc.js";
import { containerState } from "./labels.js";
import type { Sandboxes } from "./sandbox.js";
import { type CriFigures, criFigures } from "./stats.js";

/** The labels every metric has, in order. */
export const METRIC_LABEL_KEYS = ["id", "name", "image"];

/** The metrics pier reports per container: name, help, type and the figure it is. */
export const CONTAINER_METRICS: readonly {
  name: string;
  help: string;
  type: "COUNTER" | "GAUGE";
  value: (f: CriFigures) => number;
}[] = [
  {
    name: "container_cpu_usage_seconds_total",
    help: "Cumulative cpu time consumed in seconds.",
    type: "COUNTER",
    value: (f) => Math.floor(f.cpuNs / 1e9),
  },
  {
    name: "container_memory_usage_bytes",
    help: "Current memory usage in bytes, including all memory regardless of when it was accessed",
    type: "GAUGE",
    value: (f) => f.memoryUsage,
  },
  {
    name: "container_memory_working_set_bytes",
    help: "Current working set in bytes.",
    type: "GAUGE",
    value: (f) => f.workingSet,
  },
  { name: "container_memory_rss", help: "Size of RSS in bytes.", type: "GAUGE", value: (f) => f.rss },
  {
    name: "container_memory_failures_total",
    help: "Cumulative count of memory allocation failures (page faults).",
    type: "COUNTER",
    value: (f) => f.pageFaults,
  },
  {
    name: "container_processes",
    help: "Number of processes running inside the container.",
    type: "GAUGE",
    value: (f) => f.processes,
  },
];

/** ListMetricDescriptors. Pure. */
export function metricDescriptors(): Message {
  return {
    descriptors: CONTAINER_METRICS.map((m) => ({
      name: m.name,
      help: m.help,
      label_keys: METRIC_LABEL_KEYS,
    })),
  };
}

/** The metrics of one running container (none when it has no cgroup readings). */
async function containerMetrics(engine: Engine, rec: ContainerRecord): Promise<Message | undefined> {
  const sample = await engine.stats.sample(rec);
  if (!sample) return undefined;
  const f = criFigures(sample);
  const state = containerState(rec);
  const labels = [rec.id, state?.metadata.name ?? rec.name, state?.image ?? rec.config.image];
  return {
    container_id: rec.id,
    metrics: CONTAINER_METRICS.map((m) => ({
      name: m.name,
      timestamp: f.timestampNs.toString(),
      metric_type: m.type,
      label_values: labels,
      value: { value: String(Math.max(0, Math.round(m.value(f)))) },
    })),
  };
}

/** ListPodSandboxMetrics: every ready pod with its running containers' metrics. */
export async function podSandboxMetrics(engine: Engine, sandboxes: Sandboxes): Promise<Message> {
  const pods: Message[] = [];
  for (const { rec } of sandboxes.list()) {
    if (rec.status !== "running") continue;
    const containers: Message[] = [];
    for (const member of sandboxes.members(rec.id)) {
      if (member.status !== "running") continue;
      const m = await containerMetrics(engine, member).catch(() => undefined);
      if (m) containers.push(m);
    }
    pods.push({ pod_sandbox_id: rec.id, metrics: [], container_metrics: containers });
  }
  return { pod_metrics: pods };
}
