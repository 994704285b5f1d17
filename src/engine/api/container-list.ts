/**
 * The container list both APIs serve (`docker ps`, `pier ps`) and `docker inspect`'s document:
 * every `ps` filter Docker documents (`filters.ts` for the grammar), newest first, `limit`
 * (`ps -l`/`-n`) counting stopped containers as Docker does, and the inspect document whose
 * `State.Health.Status` the `health` filter reads.
 */
import type { ContainerRecord } from "../containers/store.js";
import type { Engine } from "../engine.js";
import { EngineError } from "../error.js";
import { boolFilter, checkFilters, type Filters, matchKVList } from "../filters.js";
import { withHealthInspect, withHealthSummary } from "./docker-health.js";
import { withNetworkInspect, withNetworkSummary } from "./docker-networks.js";
import { withLogConfig } from "./docker-tty.js";
import { dockerInspect, dockerSummary, withVolumePaths } from "./docker-types.js";
import { effectiveConfig } from "./effective-config.js";

/** `ps`'s `State`/`Status` of a paused container, as Docker shows it. Pure. */
export function pausedSummary(s: Record<string, unknown>, paused: boolean): Record<string, unknown> {
  return paused ? { ...s, State: "paused", Status: `${String(s.Status)} (Paused)` } : s;
}

/** `inspect`'s `State` of a paused container: status `paused`, `Paused` and `Running` true. Pure. */
export function pausedInspect(doc: Record<string, unknown>, paused: boolean): Record<string, unknown> {
  if (!paused) return doc;
  return { ...doc, State: { ...(doc.State as Record<string, unknown>), Status: "paused", Paused: true } };
}

/** `rec` with the id of its image (the config digest, as Docker shows it) for `imageId`. */
export async function withImageId(engine: Engine, rec: ContainerRecord): Promise<ContainerRecord> {
  return { ...rec, imageId: await engine.images.idOf(rec.imageId) };
}

/** `GET /containers/{id}/json` of `rec`: its effective config, networks, log config and pause state. */
export async function inspectDocument(
  engine: Engine,
  rec: ContainerRecord,
): Promise<Record<string, unknown>> {
  const svc = engine.containers;
  const doc = dockerInspect(
    await withImageId(engine, rec),
    svc.logPath(rec.id),
    engine.snapshots.rootfs(rec.id),
  );
  const image = await engine.images.service.resolve(rec.imageId).then(
    (i) => i.config.config ?? {},
    () => ({}),
  );
  const exposed = Object.fromEntries(
    (rec.config.exposedPorts ?? []).map((p) => [p.includes("/") ? p : `${p}/tcp`, {}]),
  );
  const request = { ...(doc.Config as Record<string, unknown>), ExposedPorts: exposed };
  const withConfig = { ...doc, Config: effectiveConfig(request, image, rec.config.stopSignal) };
  const info = withHealthInspect(
    withVolumePaths(withNetworkInspect(withLogConfig(withConfig, rec.config), engine, rec), (name) =>
      svc.volumes.dataPath(name),
    ),
    rec.config,
    engine.health.state(rec.id),
  );
  return pausedInspect(info, svc.isPaused(rec.id));
}

/** A container's health as the `health` filter sees it: `State.Health.Status`, else `none`. Pure. */
export function healthStatus(doc: Record<string, unknown>): string {
  const health = (doc.State as { Health?: { Status?: unknown } } | undefined)?.Health;
  return typeof health?.Status === "string" && health.Status ? health.Status : "none";
}

const STATUSES = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];
const HEALTHS = ["starting", "healthy", "unhealthy", "none"];

/** `8080`, `8080/udp`, `8000-8010/tcp` as the set of `port/proto` keys it names. Pure. */
export function portKeys(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(spec);
  const lo = Number(m?.[1]);
  const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
  if (!m || lo < 1 || hi > 65535 || hi < lo || hi - lo > 65535)
    throw new EngineError("INVALID_ARGUMENT", `invalid port filter ${JSON.stringify(spec)}`);
  const proto = m[3] ?? "tcp";
  return Array.from({ length: hi - lo + 1 }, (_, i) => `${lo + i}/${proto}`);
}

/** What a `ps` filter looks at beyond the summary row: health, created time, `before`/`since` limits. */
export interface ContainerFilterFacts {
  health: string;
  createdMs: number;
}

function ancestorMatches(s: Record<string, unknown>, v: string): boolean {
  const id = String(s.ImageID).replace(/^sha256:/, "");
  return s.Image === v || id.startsWith(v.replace(/^sha256:/, ""));
}

/**
 * Whether a `ps` row (Docker's container summary) passes `docker ps --filter`: `status`, `name`
 * (substring), `id` (prefix), `label` (k or k=v), `ancestor`, `exited` (code), `health`,
 * `before`/`since` (given as creation limits in `bounds`), `volume` (name or destination),
 * `network` (name or id), `publish`/`expose` (port, range, protocol), `isolation` (Linux:
 * `default`), `is-task` (pier runs no swarm tasks). Unknown keys and bad values are
 * `INVALID_ARGUMENT` naming them. Pure.
 */
export function containerMatches(
  s: Record<string, unknown>,
  filters: Filters,
  facts: ContainerFilterFacts = { health: "none", createdMs: Number(s.Created) * 1000 },
  bounds: { before?: number; since?: number } = {},
): boolean {
  checkFilters(filters, "containerList");
  for (const v of filters.status ?? [])
    if (!STATUSES.includes(v))
      throw new EngineError("INVALID_ARGUMENT", `Unrecognised filter value for status: ${v}`);
  for (const v of filters.health ?? [])
    if (!HEALTHS.includes(v))
      throw new EngineError("INVALID_ARGUMENT", `Unrecognised filter value for health: ${v}`);
  for (const v of filters.exited ?? [])
    if (!/^-?\d+$/.test(v)) throw new EngineError("INVALID_ARGUMENT", `invalid filter 'exited=${v}'`);
  const isTask = boolFilter(filters, "is-task");
  const published = new Set((filters.publish ?? []).flatMap(portKeys));
  const exposed = new Set((filters.expose ?? []).flatMap(portKeys));
  const names = ((s.Names as string[] | undefined) ?? []).map((n) => n.replace(/^\//, ""));
  const status = String(s.State ?? "");
  const mounts = (s.Mounts as { Name?: string; Source?: string; Destination?: string }[] | undefined) ?? [];
  const networks = Object.entries(
    (s.NetworkSettings as { Networks?: Record<string, { NetworkID?: string }> } | undefined)?.Networks ?? {},
  );
  const ports = (s.Ports as { PrivatePort?: number; PublicPort?: number; Type?: string }[] | undefined) ?? [];
  const tests: Record<string, (v: string) => boolean> = {
    status: (v) => v === status,
    name: (v) => names.some((n) => n.includes(v.replace(/^\//, ""))),
    id: (v) => String(s.Id).startsWith(v),
    ancestor: (v) => ancestorMatches(s, v),
    exited: (v) => status === "exited" && new RegExp(`^Exited \\(${Number(v)}\\)`).test(String(s.Status)),
    health: (v) => v === facts.health,
    volume: (v) => mounts.some((m) => m.Name === v || m.Source === v || m.Destination === v),
    network: (v) =>
      networks.some(([name, n]) => name === v || (v.length > 0 && n.NetworkID?.startsWith(v) === true)),
    isolation: (v) => v === "default" || v === "",
  };
  for (const [key, values] of Object.entries(filters)) {
    if (!values.length) continue;
    const test = tests[key];
    if (test && !values.some(test)) return false;
  }
  if (!matchKVList(filters, "label", (s.Labels as Record<string, string> | undefined) ?? {})) return false;
  if (isTask === true) return false;
  if (bounds.before !== undefined && !(facts.createdMs < bounds.before)) return false;
  if (bounds.since !== undefined && !(facts.createdMs > bounds.since)) return false;
  if (published.size || exposed.size) {
    const hit = ports.some(
      (p) =>
        (p.PublicPort !== undefined && published.has(`${p.PublicPort}/${p.Type ?? "tcp"}`)) ||
        exposed.has(`${p.PrivatePort}/${p.Type ?? "tcp"}`),
    );
    if (!hit) return false;
  }
  return true;
}

/** One container of the list: its record and Docker's summary row. */
export interface ListedContainer {
  record: ContainerRecord;
  summary: Record<string, unknown>;
}

/**
 * The containers of `ps`, newest first: running ones, or every one with `all`, a `limit`
 * (`ps -l`, `-n`), a `status`, `before` or `since` filter (as Docker); passing `filters`; at
 * most `limit` of them.
 */
export async function listContainers(
  engine: Engine,
  opts: { all: boolean; limit?: number | undefined; filters: Filters },
): Promise<ListedContainer[]> {
  const { filters } = opts;
  checkFilters(filters, "containerList");
  const svc = engine.containers;
  const records = svc.list();
  const limitOf = (ref: string) => Date.parse(svc.find(ref).createdAt);
  const bounds = {
    ...(filters.before?.length ? { before: Math.min(...filters.before.map(limitOf)) } : {}),
    ...(filters.since?.length ? { since: Math.max(...filters.since.map(limitOf)) } : {}),
  };
  const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : undefined;
  const all =
    opts.all ||
    limit !== undefined ||
    ["status", "before", "since"].some((k) => (filters[k]?.length ?? 0) > 0);
  const out: ListedContainer[] = [];
  for (const record of records.filter((c) => all || c.status === "running")) {
    const summary = pausedSummary(
      withHealthSummary(
        withVolumePaths(
          withNetworkSummary(dockerSummary(await withImageId(engine, record)), engine, record),
          (name) => svc.volumes.dataPath(name),
        ),
        engine.health.state(record.id),
      ),
      svc.isPaused(record.id),
    );
    const health = filters.health?.length ? healthStatus(await inspectDocument(engine, record)) : "none";
    if (!containerMatches(summary, filters, { health, createdMs: Date.parse(record.createdAt) }, bounds))
      continue;
    out.push({ record, summary });
    if (limit !== undefined && out.length >= limit) break;
  }
  return out;
}
