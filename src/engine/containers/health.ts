/**
 * Health monitoring (Docker's `HEALTHCHECK`): while a container with a healthcheck runs, one
 * probe at a time runs inside it through the engine's exec operation, `interval` after the
 * previous one ended; its result moves the container's health (`starting` → `healthy` or
 * `unhealthy`) as Docker's does, keeps the last five probes, and each change of status is a
 * `health_status: STATUS` event. The state is persisted beside the container's other files
 * (`<root>/containers/<id>/health.json`), so that inspect shows it after pierd restarts and the
 * probes go on for containers that kept running. Timers are idle waits: nothing runs on the
 * event loop between probes, and they stop when the container stops or pierd closes.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ExecService } from "../exec.js";
import { type EffectiveHealthcheck, effectiveHealthcheck, probeCommand } from "./health-config.js";
import type { ContainerService } from "./service.js";

/** Docker's health statuses. */
export type HealthStatus = "starting" | "healthy" | "unhealthy";

/** One probe, as `State.Health.Log` shows it. */
export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** A container's health: Docker's `State.Health` document. */
export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthLogEntry[];
}

/** How many probes `Log` keeps, and how much output of each (Docker's limits). */
export const HEALTH_LOG_ENTRIES = 5;
export const HEALTH_OUTPUT_BYTES = 4096;

/** The health of a container that just started. Pure. */
export function initialHealth(): HealthState {
  return { Status: "starting", FailingStreak: 0, Log: [] };
}

/**
 * The health after one probe, as Docker's `handleProbeResult`: exit 0 is healthy and clears the
 * streak; a failure counts (and `retries` of them in a row make it unhealthy) unless it came
 * while still `starting` within the start period. Pure.
 */
export function afterProbe(
  prior: HealthState,
  entry: HealthLogEntry,
  check: Pick<EffectiveHealthcheck, "retries" | "startPeriodMs">,
  startedAtMs: number,
): HealthState {
  const Log = [...prior.Log, entry].slice(-HEALTH_LOG_ENTRIES);
  if (entry.ExitCode === 0) return { Status: "healthy", FailingStreak: 0, Log };
  const inStartPeriod =
    prior.Status === "starting" && Date.parse(entry.Start) - startedAtMs < check.startPeriodMs;
  if (inStartPeriod) return { ...prior, Log };
  const FailingStreak = prior.FailingStreak + 1;
  return { Status: FailingStreak >= check.retries ? "unhealthy" : prior.Status, FailingStreak, Log };
}

/**
 * The wait before the next probe, as Docker's monitor decides it: `startInterval` while the
 * container is still `starting` within its start period, else `interval`. Pure.
 */
export function nextProbeDelay(
  check: Pick<EffectiveHealthcheck, "intervalMs" | "startPeriodMs" | "startIntervalMs">,
  status: HealthStatus,
  sinceStartMs: number,
): number {
  if (sinceStartMs >= check.startPeriodMs || status !== "starting") return check.intervalMs;
  return check.startIntervalMs;
}

interface Running {
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
}

/** Runs the healthchecks of a container service's containers. */
export class HealthMonitor {
  private readonly running = new Map<string, Running>();
  private closed = false;

  /**
   * Follows `svc`: probes start with each start of a container that has a healthcheck (and
   * now, for those already running), and stop with its exit or removal.
   */
  constructor(
    private readonly svc: ContainerService,
    private readonly execs: ExecService,
  ) {
    svc.on("start", (id: string) => this.begin(id, true));
    svc.on("exit", (id: string) => this.end(id));
    svc.on("removed", (id: string) => this.end(id));
    for (const rec of svc.list()) if (rec.status === "running") this.begin(rec.id, false);
  }

  private file(id: string): string {
    return join(this.svc.dir(id), "health.json");
  }

  /** The health of container `id` (`undefined` without a healthcheck or before its first start). */
  state(id: string): HealthState | undefined {
    try {
      return JSON.parse(readFileSync(this.file(id), "utf8")) as HealthState;
    } catch {
      return undefined;
    }
  }

  private save(id: string, h: HealthState): void {
    const tmp = `${this.file(id)}.tmp`;
    writeFileSync(tmp, JSON.stringify(h));
    renameSync(tmp, this.file(id));
  }

  private begin(id: string, fresh: boolean): void {
    const rec = this.svc.store.get(id);
    const check = effectiveHealthcheck(rec?.config.healthcheck);
    if (!rec || this.closed) return;
    if (!check) {
      rmSync(this.file(id), { force: true });
      return;
    }
    this.end(id);
    if (fresh || !this.state(id)) this.save(id, initialHealth());
    const run: Running = { timer: undefined, stopped: false };
    this.running.set(id, run);
    const startedAt = Date.parse(rec.startedAt);
    const next = () => {
      if (run.stopped) return;
      const status = this.state(id)?.Status ?? "starting";
      const delay = nextProbeDelay(check, status, Date.now() - startedAt);
      run.timer = setTimeout(() => void this.probe(id, check, run).then(next), delay);
      run.timer.unref();
    };
    next();
  }

  private end(id: string): void {
    const run = this.running.get(id);
    if (!run) return;
    run.stopped = true;
    clearTimeout(run.timer);
    this.running.delete(id);
  }

  private async probe(id: string, check: EffectiveHealthcheck, run: Running): Promise<void> {
    // A frozen container cannot run a probe (its exec would wait until thawed): none is counted.
    if (this.svc.isPaused(id)) return;
    const start = new Date();
    let entry: HealthLogEntry;
    try {
      const r = await this.execs.capture(id, probeCommand(check), {
        timeoutMs: check.timeoutMs,
        maxOutput: HEALTH_OUTPUT_BYTES,
      });
      entry = {
        Start: start.toISOString(),
        End: new Date().toISOString(),
        ExitCode: r.timedOut ? -1 : (r.exitCode ?? -1),
        Output: r.timedOut ? `Health check exceeded timeout (${check.timeoutMs / 1000}s)` : r.output,
      };
    } catch (err) {
      // The container stopped meanwhile (its exit ends the probes), or the exec could not start.
      if (run.stopped) return;
      entry = {
        Start: start.toISOString(),
        End: new Date().toISOString(),
        ExitCode: -1,
        Output: (err as Error).message,
      };
    }
    const rec = this.svc.store.get(id);
    if (run.stopped || !rec || rec.status !== "running") return;
    const prior = this.state(id) ?? initialHealth();
    const next = afterProbe(prior, entry, check, Date.parse(rec.startedAt));
    this.save(id, next);
    if (next.Status !== prior.Status) this.svc.emit("health_status", id, next.Status);
  }

  /** Stops every probe timer (pierd is closing; containers keep running). */
  close(): void {
    this.closed = true;
    for (const id of [...this.running.keys()]) this.end(id);
  }
}
