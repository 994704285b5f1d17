/**
 * The CRI's statistics (ContainerStats, ListContainerStats, PodSandboxStats,
 * ListPodSandboxStats) from the engine's cgroup readings: CPU time and rate, memory with the
 * kubelet's working set (usage less inactive file pages), process counts, and the pod's
 * network counters from its sandbox's namespace. A pod has no cgroup of its own in pier: its
 * figures are the sums of its sandbox's and containers'.
 */
import type { ContainerRecord } from "../containers/store.js";
import type { Engine } from "../engine.js";
import type { StatsSample } from "../stats.js";
import type { CriContainers } from "./containers.js";
import { msg, str, strMap } from "./fields.js";
import type { Message } from "./grpc.js";
import { containerState, matchesLabels } from "./labels.js";
import type { Sandboxes } from "./sandbox.js";

/** The figures of one reading that the CRI reports (all counters in bytes or nanoseconds). */
export interface CriFigures {
  timestampNs: bigint;
  cpuNs: number;
  memoryUsage: number;
  workingSet: number;
  rss: number;
  pageFaults: number;
  majorPageFaults: number;
  processes: number;
}

/** The CRI figures of an engine stats sample (cgroup v1 and v2 names of `memory.stat`). Pure. */
export function criFigures(s: StatsSample): CriFigures {
  const raw = s.cgroup.memory.raw ?? {};
  const usage = s.cgroup.memory.usage.usage ?? 0;
  const inactive = raw.inactive_file ?? raw.total_inactive_file ?? 0;
  return {
    timestampNs: BigInt(Date.parse(s.read)) * 1_000_000n,
    cpuNs: s.cgroup.cpu.usage.total ?? 0,
    memoryUsage: usage,
    workingSet: Math.max(0, usage - inactive),
    rss: raw.anon ?? raw.total_rss ?? raw.rss ?? 0,
    pageFaults: raw.pgfault ?? raw.total_pgfault ?? 0,
    majorPageFaults: raw.pgmajfault ?? raw.total_pgmajfault ?? 0,
    processes: s.cgroup.pids.current ?? 0,
  };
}

const u64 = (n: number) => ({ value: String(Math.max(0, Math.round(n))) });

/** The CRI's stats handlers on `engine`. */
export class CriStats {
  /** The last CPU reading per container, for `usage_nano_cores` (a rate needs two). */
  private readonly lastCpu = new Map<string, { ns: bigint; cpu: number }>();

  constructor(
    private readonly engine: Engine,
    private readonly sandboxes: Sandboxes,
    private readonly containers: CriContainers,
  ) {}

  private async figures(rec: ContainerRecord): Promise<(CriFigures & { nanoCores?: number }) | undefined> {
    const sample = await this.engine.stats.sample(rec);
    if (!sample) return undefined;
    const f = criFigures(sample);
    const last = this.lastCpu.get(rec.id);
    this.lastCpu.set(rec.id, { ns: f.timestampNs, cpu: f.cpuNs });
    if (this.lastCpu.size > 4096) this.lastCpu.delete(this.lastCpu.keys().next().value as string);
    if (!last || f.timestampNs <= last.ns) return f;
    return { ...f, nanoCores: ((f.cpuNs - last.cpu) * 1e9) / Number(f.timestampNs - last.ns) };
  }

  private usage(f: (CriFigures & { nanoCores?: number }) | undefined): Message {
    if (!f) return {};
    const timestamp = f.timestampNs.toString();
    return {
      cpu: {
        timestamp,
        usage_core_nano_seconds: u64(f.cpuNs),
        ...(f.nanoCores !== undefined ? { usage_nano_cores: u64(f.nanoCores) } : {}),
      },
      memory: {
        timestamp,
        working_set_bytes: u64(f.workingSet),
        usage_bytes: u64(f.memoryUsage),
        rss_bytes: u64(f.rss),
        page_faults: u64(f.pageFaults),
        major_page_faults: u64(f.majorPageFaults),
      },
    };
  }

  private async containerStats(rec: ContainerRecord): Promise<Message> {
    const state = containerState(rec);
    return {
      attributes: {
        id: rec.id,
        metadata: state?.metadata,
        labels: state?.labels ?? {},
        annotations: state?.annotations ?? {},
      },
      ...this.usage(await this.figures(rec)),
    };
  }

  /** ContainerStats. */
  async one(req: Message): Promise<Message> {
    const { rec } = this.containers.find(str(req, "container_id"));
    return { stats: await this.containerStats(rec) };
  }

  /** ListContainerStats with its filter (id prefix, sandbox, labels). */
  async list(req: Message): Promise<Message> {
    const filter = msg(req, "filter");
    const id = str(filter, "id");
    const pod = str(filter, "pod_sandbox_id");
    const selector = strMap(filter, "label_selector");
    const out: Message[] = [];
    for (const rec of this.engine.containers.list()) {
      const state = containerState(rec);
      if (!state || (id && !rec.id.startsWith(id)) || (pod && !state.sandboxId.startsWith(pod))) continue;
      if (!matchesLabels(state.labels, selector)) continue;
      out.push(await this.containerStats(rec));
    }
    return { stats: out };
  }

  private async podStats(sandbox: ContainerRecord): Promise<Message> {
    const { state } = this.sandboxes.find(sandbox.id);
    const members = this.sandboxes.members(sandbox.id);
    const own = await this.figures(sandbox);
    const containers = await Promise.all(members.map((r) => this.containerStats(r)));
    const parts = [
      own,
      ...(await Promise.all(members.map((r) => this.engine.stats.sample(r)))).map((s) =>
        s ? criFigures(s) : undefined,
      ),
    ];
    const present = parts.filter((p): p is CriFigures => p !== undefined);
    const sum = (k: keyof Omit<CriFigures, "timestampNs">) => present.reduce((n, p) => n + p[k], 0);
    const linux: Message = { containers };
    if (own && present.length) {
      const timestamp = own.timestampNs.toString();
      linux.cpu = { timestamp, usage_core_nano_seconds: u64(sum("cpuNs")) };
      linux.memory = {
        timestamp,
        working_set_bytes: u64(sum("workingSet")),
        usage_bytes: u64(sum("memoryUsage")),
        rss_bytes: u64(sum("rss")),
        page_faults: u64(sum("pageFaults")),
        major_page_faults: u64(sum("majorPageFaults")),
      };
      linux.process = { timestamp, process_count: u64(sum("processes")) };
      const sample = await this.engine.stats.sample(sandbox);
      const interfaces = Object.entries(sample?.networks ?? {})
        .filter(([name]) => name !== "lo")
        .map(([name, c]) => ({
          name,
          rx_bytes: u64(c.rx_bytes),
          rx_errors: u64(c.rx_errors),
          tx_bytes: u64(c.tx_bytes),
          tx_errors: u64(c.tx_errors),
        }));
      if (interfaces.length)
        linux.network = {
          timestamp,
          default_interface: interfaces.find((i) => i.name === "eth0") ?? interfaces[0],
          interfaces,
        };
    }
    return {
      attributes: {
        id: sandbox.id,
        metadata: state.metadata,
        labels: state.labels,
        annotations: state.annotations,
      },
      linux,
    };
  }

  /** PodSandboxStats. */
  async pod(req: Message): Promise<Message> {
    const { rec } = this.sandboxes.find(str(req, "pod_sandbox_id"));
    return { stats: await this.podStats(rec) };
  }

  /** ListPodSandboxStats with its filter (id prefix, labels). */
  async pods(req: Message): Promise<Message> {
    const filter = msg(req, "filter");
    const id = str(filter, "id");
    const selector = strMap(filter, "label_selector");
    const out: Message[] = [];
    for (const { rec, state } of this.sandboxes.list()) {
      if ((id && !rec.id.startsWith(id)) || !matchesLabels(state.labels, selector)) continue;
      out.push(await this.podStats(rec));
    }
    return { stats: out };
  }
}
