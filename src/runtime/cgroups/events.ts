/**
 * Streaming helpers for `pier-runtime events`: OOM notifications and periodic statistics, both
 * by polling (the v1 eventfd notification of `memory.oom_control` needs eventfd(2), which Node
 * cannot call; polling the kill counter works on v1 and v2 alike).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Cgroup } from "./cgroup.js";
import type { CgroupStats } from "./stats.js";

/** Options of the watchers. */
export interface WatchOptions {
  /** Polling period in milliseconds. */
  intervalMs?: number;
  /** Stops the stream (the generator returns; it does not throw). */
  signal?: AbortSignal;
}

/** One OOM notification: `kills` new OOM kills since the last one, `total` since creation. */
export interface OomEvent {
  type: "oom";
  kills: number;
  total: number;
}

async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
    return true;
  } catch {
    return false;
  }
}

/**
 * Yields an {@link OomEvent} each time the cgroup's OOM-kill counter grows (kills that happened
 * before the call are not reported). Ends when `signal` aborts or the cgroup is removed.
 */
export async function* watchOom(cg: Cgroup, options: WatchOptions = {}): AsyncGenerator<OomEvent> {
  const interval = options.intervalMs ?? 100;
  let seen = await cg.oomKillCount();
  while (!options.signal?.aborted) {
    if (!(await pause(interval, options.signal))) return;
    if (!(await cg.exists())) return;
    const total = await cg.oomKillCount().catch(() => seen);
    if (total > seen) {
      yield { type: "oom", kills: total - seen, total };
      seen = total;
    }
  }
}

/**
 * Yields the cgroup's statistics every `intervalMs` (default 5 s, runc's `events` default),
 * the first one at once. Ends when `signal` aborts or the cgroup is removed.
 */
export async function* watchStats(cg: Cgroup, options: WatchOptions = {}): AsyncGenerator<CgroupStats> {
  const interval = options.intervalMs ?? 5000;
  while (!options.signal?.aborted && (await cg.exists())) {
    yield await cg.stats();
    if (!(await pause(interval, options.signal))) return;
  }
}

/** One line of `runc events` output (`{"type":"stats","id":…,"data":…}` or `{"type":"oom","id":…}`). */
export type RuncEvent = { type: "stats"; id: string; data: CgroupStats } | { type: "oom"; id: string };

/**
 * The stream `runc events` prints for container `id`: a `stats` event at once and then every
 * `intervalMs` (default 5 s), and an `oom` event (one per kill) as soon as polling sees one
 * (within `oomPollMs`, default 100 ms). Ends when `signal` aborts or the cgroup is removed.
 * For `events --stats`, take the first event and stop.
 */
export async function* containerEvents(
  cg: Cgroup,
  id: string,
  options: WatchOptions & { oomPollMs?: number } = {},
): AsyncGenerator<RuncEvent> {
  const interval = options.intervalMs ?? 5000;
  const poll = Math.min(options.oomPollMs ?? 100, interval);
  let seen = await cg.oomKillCount();
  let nextStats = 0;
  while (!options.signal?.aborted && (await cg.exists())) {
    const total = await cg.oomKillCount().catch(() => seen);
    for (; seen < total; seen++) yield { type: "oom", id };
    if (Date.now() >= nextStats) {
      yield { type: "stats", id, data: await cg.stats() };
      nextStats = Date.now() + interval;
    }
    if (!(await pause(poll, options.signal))) return;
  }
}
