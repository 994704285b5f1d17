/**
 * The Docker API's system and operations routes: `/info`, `/system/df`, the prune routes
 * (containers, volumes, build cache), `/events` with filters and `since`/`until`, container
 * `stats` (one-shot or streamed every second) and `pause`/`unpause`.
 */
import { existsSync, statfsSync } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { arch, cpus, hostname, release, totalmem } from "node:os";
import { join } from "node:path";
import { PIER_VERSION } from "../../common/version.js";
import { tryParseReference } from "../../oci/reference.js";
import type { ContainerService } from "../containers/service.js";
import type { ContainerRecord } from "../containers/store.js";
import { EngineError } from "../error.js";
import { type EngineEvent, eventLog, eventMatches, unknownEventFilter } from "../events.js";
import { dockerStats, hostMemory, type StatsSample, sampleStats } from "../stats.js";
import { localImages } from "./docker-images.js";
import { dockerSummary, parseFilters } from "./docker-types.js";
import { flag, sendJson, timeParam } from "./http.js";

/** Bytes under `path` (files counted once per inode, symlinks not followed); 0 when absent. */
export async function diskUsage(path: string): Promise<number> {
  const seen = new Set<string>();
  const walk = async (p: string): Promise<number> => {
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(p);
    } catch {
      return 0;
    }
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return 0;
    seen.add(key);
    if (!st.isDirectory()) return st.size;
    let total = 0;
    for (const e of await readdir(p).catch(() => [] as string[])) total += await walk(join(p, e));
    return total;
  };
  return walk(path);
}

const FS_MAGIC: Record<number, string> = {
  61267: "extfs",
  1481003842: "xfs",
  2435016766: "btrfs",
  16914836: "tmpfs",
  2035054128: "overlayfs",
  801189825: "zfs",
};

/** The file system type under `path` by name, as Docker's `Backing Filesystem`. */
export function backingFilesystem(path: string): string {
  try {
    const t = Number(statfsSync(path).type);
    return FS_MAGIC[t] ?? `0x${t.toString(16)}`;
  } catch {
    return "unknown";
  }
}

/** The cgroup version of this host as Docker reports it (`1` on v1 and hybrid hosts). */
export function cgroupVersion(): "1" | "2" {
  return existsSync("/sys/fs/cgroup/cgroup.controllers") ? "2" : "1";
}

/** `ps`'s `State`/`Status` of a paused container, as Docker shows it. Pure. */
export function pausedSummary(s: Record<string, unknown>, paused: boolean): Record<string, unknown> {
  return paused ? { ...s, State: "paused", Status: `${String(s.Status)} (Paused)` } : s;
}

/** `inspect`'s `State` of a paused container: status `paused`, `Paused` and `Running` true. Pure. */
export function pausedInspect(doc: Record<string, unknown>, paused: boolean): Record<string, unknown> {
  if (!paused) return doc;
  return { ...doc, State: { ...(doc.State as Record<string, unknown>), Status: "paused", Paused: true } };
}

/**
 * Whether a `ps` row (Docker's container summary) passes `docker ps --filter`: `status`, `name`
 * (substring), `id` (prefix), `label` (k or k=v), `ancestor` (image as given), `exited` (code).
 * An unknown key is `INVALID_ARGUMENT`. Pure.
 */
export function containerMatches(s: Record<string, unknown>, filters: Record<string, string[]>): boolean {
  const names = ((s.Names as string[] | undefined) ?? []).map((n) => n.replace(/^\//, ""));
  const labels = (s.Labels as Record<string, string> | undefined) ?? {};
  const status = String(s.State ?? "");
  for (const [key, values] of Object.entries(filters)) {
    if (!values.length) continue;
    const any = (ok: (v: string) => boolean) => values.some(ok);
    const pass =
      key === "status"
        ? any((v) => v === status)
        : key === "name"
          ? any((v) => names.some((n) => n.includes(v.replace(/^\//, ""))))
          : key === "id"
            ? any((v) => String(s.Id).startsWith(v))
            : key === "ancestor"
              ? any(
                  (v) =>
                    s.Image === v ||
                    String(s.ImageID)
                      .replace(/^sha256:/, "")
                      .startsWith(v.replace(/^sha256:/, "")),
                )
              : key === "exited"
                ? status === "exited" &&
                  any((v) => new RegExp(`^Exited \\(${Number(v)}\\)`).test(String(s.Status)))
                : key === "label"
                  ? values.every((l) => {
                      const eq = l.indexOf("=");
                      const k = eq < 0 ? l : l.slice(0, eq);
                      return k in labels && (eq < 0 || labels[k] === l.slice(eq + 1));
                    })
                  : undefined;
    if (pass === undefined) throw new EngineError("INVALID_ARGUMENT", `invalid filter '${key}'`);
    if (!pass) return false;
  }
  return true;
}

/** Docker's `/info` document. */
export async function dockerInfo(svc: ContainerService): Promise<Record<string, unknown>> {
  const all = svc.list();
  const running = all.filter((c) => c.status === "running");
  const paused = running.filter((c) => svc.isPaused(c.id)).length;
  const version = cgroupVersion();
  return {
    ID: "pier",
    Containers: all.length,
    ContainersRunning: running.length - paused,
    ContainersPaused: paused,
    ContainersStopped: all.length - running.length,
    Images: (await localImages(svc)).length,
    Driver: svc.snapshots.driver,
    DriverStatus: [["Backing Filesystem", backingFilesystem(svc.root)]],
    Plugins: { Volume: ["local"], Network: ["bridge", "host", "null"], Log: ["json-file"] },
    MemoryLimit: true,
    SwapLimit: version === "2" || existsSync("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"),
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    NEventsListener: eventLog(svc).listenerCount("event"),
    CgroupDriver: "cgroupfs",
    CgroupVersion: version,
    LoggingDriver: "json-file",
    KernelVersion: release(),
    OperatingSystem: "pier",
    OSVersion: "",
    OSType: "linux",
    Architecture: arch() === "x64" ? "x86_64" : arch() === "arm64" ? "aarch64" : arch(),
    IndexServerAddress: "https://index.docker.io/v1/",
    NCPU: cpus().length,
    MemTotal: totalmem(),
    DockerRootDir: svc.root,
    HttpProxy: "",
    HttpsProxy: "",
    NoProxy: "",
    Name: hostname(),
    ServerVersion: PIER_VERSION,
    ExperimentalBuild: false,
    LiveRestoreEnabled: true,
    Runtimes: { pier: { path: "pier-runtime" } },
    DefaultRuntime: "pier",
    Swarm: { LocalNodeState: "inactive", NodeID: "", NodeAddr: "", ControlAvailable: false },
    Isolation: "",
    InitBinary: "",
    SecurityOptions: ["name=seccomp,profile=builtin", ...(version === "2" ? ["name=cgroupns"] : [])],
    RegistryConfig: { InsecureRegistryCIDRs: ["127.0.0.0/8"], IndexConfigs: {}, Mirrors: [] },
    Labels: [],
    Warnings: [],
  };
}

/** Docker's `/system/df` document (images, containers with their writable layer, volumes with their size). */
export async function systemDf(svc: ContainerService): Promise<Record<string, unknown>> {
  const containers = svc.list();
  const images = await svc.images.list();
  const locals = await localImages(svc);
  const Images = locals.map((img) => {
    const row = images.find((r) => r.digest === img.id);
    const size = row?.size ?? 0;
    return {
      Id: img.id,
      ParentId: "",
      RepoTags: img.names.map((n) => tryParseReference(n)?.familiar() ?? n),
      RepoDigests: [],
      Created: row?.created ? Math.floor(Date.parse(row.created) / 1000) : 0,
      Size: size,
      SharedSize: 0,
      VirtualSize: size,
      Labels: {},
      Containers: containers.filter((c) => c.imageId === img.manifest || c.imageId === img.id).length,
    };
  });
  const Containers = await Promise.all(
    containers.map(async (c) => ({
      ...dockerSummary(c),
      SizeRw: await diskUsage(join(svc.snapshots.containerDir(c.id), "upper")),
      SizeRootFs: 0,
    })),
  );
  const Volumes = await Promise.all(
    (await svc.volumes.list()).map(async (v) => ({
      ...v,
      UsageData: { Size: await diskUsage(v.Mountpoint), RefCount: svc.volumeUsers(v.Name).length },
    })),
  );
  return {
    LayersSize: Images.reduce((a, i) => a + i.Size, 0),
    Images,
    Containers,
    Volumes,
    BuildCache: [],
  };
}

/** Whether a container passes `container prune`'s filters (`until`, `label`). Pure. */
export function prunableContainer(
  c: ContainerRecord,
  filters: Record<string, string[]>,
  nowMs = Date.now(),
): boolean {
  if (c.status === "running" || c.status === "removing") return false;
  for (const [k, values] of Object.entries(filters)) {
    if (k === "until") {
      for (const v of values) {
        const t = /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : Date.parse(v);
        const limit = Number.isNaN(t) ? nowMs - durationMs(v) : t;
        if (!(Date.parse(c.createdAt) < limit)) return false;
      }
    } else if (k === "label") {
      const labels = c.config.labels ?? {};
      for (const l of values) {
        const eq = l.indexOf("=");
        const key = eq < 0 ? l : l.slice(0, eq);
        if (!(key in labels) || (eq >= 0 && labels[key] !== l.slice(eq + 1))) return false;
      }
    } else throw new EngineError("INVALID_ARGUMENT", `invalid filter '${k}'`);
  }
  return true;
}

/** A Go duration such as `10m`, `1h30m`, `24h` in ms; `INVALID_ARGUMENT` otherwise. Pure. */
export function durationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]!]!;
    end = re.lastIndex;
  }
  if (!text || end !== text.length)
    throw new EngineError("INVALID_ARGUMENT", `invalid duration ${JSON.stringify(text)}`);
  return total;
}

/** Removes every stopped container passing `filters`. */
export async function pruneContainers(
  svc: ContainerService,
  filters: Record<string, string[]>,
): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
  const doomed = svc.list().filter((c) => prunableContainer(c, filters));
  const deleted: string[] = [];
  let space = 0;
  for (const c of doomed) {
    const size = await diskUsage(join(svc.snapshots.containerDir(c.id), "upper"));
    await svc.remove(c.id).then(
      () => {
        deleted.push(c.id);
        space += size;
      },
      () => {},
    );
  }
  return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: space };
}

/** Removes every volume no container uses (API 1.41: named and anonymous), passing `label` filters. */
export async function pruneVolumes(
  svc: ContainerService,
  filters: Record<string, string[]>,
): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }> {
  const deleted: string[] = [];
  let space = 0;
  const anonymousOnly = filters.all?.some((v) => v === "false" || v === "0") === true;
  for (const [k] of Object.entries(filters))
    if (k !== "label" && k !== "all") throw new EngineError("INVALID_ARGUMENT", `invalid filter '${k}'`);
  for (const v of await svc.volumes.list()) {
    if (svc.volumeUsers(v.Name).length) continue;
    if (anonymousOnly && !("com.docker.volume.anonymous" in v.Labels)) continue;
    const labelsOk = (filters.label ?? []).every((l) => {
      const eq = l.indexOf("=");
      const key = eq < 0 ? l : l.slice(0, eq);
      return key in v.Labels && (eq < 0 || v.Labels[key] === l.slice(eq + 1));
    });
    if (!labelsOk) continue;
    const size = await diskUsage(v.Mountpoint);
    await svc.removeVolume(v.Name);
    eventLog(svc).record("volume", "destroy", v.Name, { driver: "local" });
    deleted.push(v.Name);
    space += size;
  }
  return { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: space };
}

/** Streams `/events` (Docker's query: `since`, `until`, `filters`) as JSON lines until closed or `until`. */
export async function streamEvents(
  svc: ContainerService,
  res: ServerResponse,
  q: URLSearchParams,
): Promise<void> {
  const filters = parseFilters(q.get("filters"));
  const bad = unknownEventFilter(filters);
  if (bad) throw new EngineError("INVALID_ARGUMENT", `invalid filter '${bad}'`);
  const since = timeParam(q, "since");
  const until = timeParam(q, "until");
  const log = eventLog(svc);
  res.writeHead(200, { "Content-Type": "application/json" });
  res.flushHeaders();
  const write = (e: EngineEvent) => {
    if (eventMatches(e, filters)) res.write(`${JSON.stringify(e)}\n`);
  };
  const nowS = Date.now() / 1000;
  if (since !== undefined) for (const e of log.history(since, until)) write(e);
  if (until !== undefined && until <= nowS) {
    res.end();
    return;
  }
  const on = (e: EngineEvent) => write(e);
  log.on("event", on);
  await new Promise<void>((resolve) => {
    res.once("close", () => resolve());
    if (until !== undefined) setTimeout(resolve, (until - nowS) * 1000).unref();
  });
  log.off("event", on);
  res.end();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends Docker stats objects for `ref` (`stream`, `one-shot` as Docker's query), one a second when streaming. */
export async function streamStats(
  svc: ContainerService,
  ref: string,
  res: ServerResponse,
  q: URLSearchParams,
): Promise<void> {
  const rec = svc.find(ref);
  const stream = flag(q, "stream", true);
  const oneShot = flag(q, "one-shot");
  const mem = hostMemory();
  let pre: StatsSample | undefined;
  if (!stream && !oneShot) {
    // Two readings, so the one answer carries a CPU delta (Docker waits for its collector too).
    pre = await sampleStats(svc, svc.store.get(rec.id) ?? rec);
    if (pre) await sleep(500);
  }
  res.writeHead(200, { "Content-Type": "application/json" });
  if (!stream) {
    const cur = await sampleStats(svc, svc.store.get(rec.id) ?? rec);
    res.end(`${JSON.stringify(dockerStats(rec, cur, pre, mem))}\n`);
    return;
  }
  let closed = false;
  res.once("close", () => {
    closed = true;
  });
  while (!closed) {
    const now = svc.store.get(rec.id);
    if (!now) break;
    const cur = await sampleStats(svc, now);
    res.write(`${JSON.stringify(dockerStats(rec, cur, pre, mem))}\n`);
    pre = cur;
    await sleep(1000);
  }
  res.end();
}

/**
 * Handles the system and operations routes of the Docker API; resolves false when `path` is not
 * one of them.
 */
export async function dockerSystemRoutes(
  svc: ContainerService,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  path: string,
  q: URLSearchParams,
): Promise<boolean> {
  if (method === "GET" && path === "/info") {
    sendJson(res, 200, await dockerInfo(svc));
    return true;
  }
  if (method === "GET" && path === "/system/df") {
    sendJson(res, 200, await systemDf(svc));
    return true;
  }
  if (method === "GET" && path === "/events") {
    await streamEvents(svc, res, q);
    return true;
  }
  if (method === "POST" && path === "/containers/prune") {
    req.resume();
    sendJson(res, 200, await pruneContainers(svc, parseFilters(q.get("filters"))));
    return true;
  }
  if (method === "POST" && path === "/volumes/prune") {
    req.resume();
    sendJson(res, 200, await pruneVolumes(svc, parseFilters(q.get("filters"))));
    return true;
  }
  if (method === "POST" && path === "/build/prune") {
    req.resume();
    sendJson(res, 200, { CachesDeleted: null, SpaceReclaimed: 0 });
    return true;
  }
  const m = /^\/containers\/([^/]+)\/(stats|pause|unpause)$/.exec(path);
  if (!m) return false;
  const ref = decodeURIComponent(m[1]!);
  req.resume();
  if (method === "GET" && m[2] === "stats") {
    await streamStats(svc, ref, res, q);
    return true;
  }
  if (method === "POST" && m[2] === "pause") {
    await svc.pause(ref);
    res.writeHead(204).end();
    return true;
  }
  if (method === "POST" && m[2] === "unpause") {
    await svc.unpause(ref);
    res.writeHead(204).end();
    return true;
  }
  return false;
}
