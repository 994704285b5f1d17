/**
 * The engine's system operations, as every API front calls them: what the daemon is and holds
 * (`info`), what it uses on disk (`df`), and the prunes of containers and of everything
 * (`system prune`). Results are the engine's own types; the fronts translate them.
 */
import { existsSync, statfsSync } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { arch, cpus, hostname, release, totalmem } from "node:os";
import { join } from "node:path";
import { pruneBuildCache } from "../build/prune.js";
import { PIER_VERSION } from "../common/version.js";
import type { RegistriesConfig } from "../remote/index.js";
import { hasSwapAccounting } from "./containers/host-facts.js";
import type { ContainerService } from "./containers/service.js";
import type { ContainerRecord } from "./containers/store.js";
import { EngineError } from "./error.js";
import type { EventLog } from "./events.js";
import { checkFilters, createdBy, durationMs, type Filters, labelsPass, untilMs } from "./filters.js";
import type { ImageOperations, LocalImage } from "./image-operations.js";
import type { NetworkOperations } from "./network-operations.js";
import type { PruneReport, SystemPruneReport } from "./reports.js";
import type { VolumeOperations } from "./volume-operations.js";
import type { VolumeInfo } from "./volumes.js";

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

/** Whether a container passes `container prune`'s filters (`until`, `label`, `label!`): not running. Pure. */
export function prunableContainer(c: ContainerRecord, filters: Filters, nowMs = Date.now()): boolean {
  checkFilters(filters, "containerPrune");
  if (c.status === "running" || c.status === "removing") return false;
  return createdBy(c.createdAt, untilMs(filters, nowMs)) && labelsPass(filters, c.config.labels ?? {});
}

/** What the daemon is and holds (`GET /info`, `pier system info`). */
export interface SystemInfo {
  containers: { total: number; running: number; paused: number; stopped: number };
  images: number;
  driver: string;
  backingFilesystem: string;
  cgroupVersion: "1" | "2";
  swapLimit: boolean;
  eventListeners: number;
  kernelVersion: string;
  /** Node's `os.arch()` name (`x64`, `arm64`). */
  arch: string;
  cpus: number;
  memTotal: number;
  root: string;
  hostname: string;
  version: string;
  /** registries.conf as pulls apply it (mirrors, insecure and blocked registries). */
  registries: RegistriesConfig;
  /** Registries spoken to over plain HTTP (`--insecure-registry`). */
  insecureRegistries: readonly string[];
  /** pierd's `--init`: containers that do not say get the init. */
  defaultInit: boolean;
}

/** One image of {@link DiskUsage}. */
export interface ImageUsage {
  image: LocalImage;
  created: string | undefined;
  size: number;
  containers: number;
}

/** What the daemon uses on disk (`GET /system/df`, `pier system df`). */
export interface DiskUsage {
  images: ImageUsage[];
  /** Each container with its image's id (config digest) and the size of its writable layer. */
  containers: { record: ContainerRecord; imageId: string; sizeRw: number }[];
  volumes: { volume: VolumeInfo; size: number; refCount: number }[];
}

/** The daemon as a whole. */
export class SystemService {
  constructor(
    private readonly containers: ContainerService,
    private readonly images: ImageOperations,
    private readonly volumes: VolumeOperations,
    private readonly events: EventLog,
    private readonly networks: NetworkOperations,
  ) {}

  /** The daemon's information. */
  async info(): Promise<SystemInfo> {
    const svc = this.containers;
    const all = svc.list();
    const running = all.filter((c) => c.status === "running");
    const paused = running.filter((c) => svc.isPaused(c.id)).length;
    const version = cgroupVersion();
    return {
      containers: {
        total: all.length,
        running: running.length - paused,
        paused,
        stopped: all.length - running.length,
      },
      images: (await this.images.local()).length,
      driver: svc.snapshots.driver,
      backingFilesystem: backingFilesystem(svc.root),
      cgroupVersion: version,
      swapLimit: hasSwapAccounting(),
      eventListeners: this.events.listenerCount("event"),
      kernelVersion: release(),
      arch: arch(),
      cpus: cpus().length,
      memTotal: totalmem(),
      root: svc.root,
      hostname: hostname(),
      version: PIER_VERSION,
      registries: this.images.service.registries,
      insecureRegistries: this.images.service.insecure,
      defaultInit: svc.defaultInit,
    };
  }

  /** Disk usage of images, containers (their writable layer) and volumes. */
  async df(): Promise<DiskUsage> {
    const containers = this.containers.list();
    const rows = await this.images.list();
    const images = (await this.images.local()).map((image) => {
      const row = rows.find((r) => r.digest === image.root);
      return {
        image,
        created: row?.created,
        size: row?.size ?? 0,
        containers: this.images.users(image).length,
      };
    });
    return {
      images,
      containers: await Promise.all(
        containers.map(async (record) => ({
          record,
          imageId: await this.images.idOf(record.imageId),
          sizeRw: await this.sizeRw(record),
        })),
      ),
      volumes: await Promise.all(
        (await this.volumes.list()).map(async (volume) => ({
          volume,
          size: await diskUsage(volume.Mountpoint),
          refCount: this.volumes.users(volume.Name).length,
        })),
      ),
    };
  }

  private sizeRw(c: ContainerRecord): Promise<number> {
    return diskUsage(join(this.containers.snapshots.containerDir(c.id), "upper"));
  }

  /** Removes every stopped container passing `filters` (`until`, `label`, `label!`). */
  async pruneContainers(filters: Filters): Promise<PruneReport<string>> {
    checkFilters(filters, "containerPrune");
    const now = Date.now();
    const doomed = this.containers.list().filter((c) => prunableContainer(c, filters, now));
    const deleted: string[] = [];
    let spaceReclaimed = 0;
    for (const c of doomed) {
      const size = await this.sizeRw(c);
      await this.containers.remove(c.id).then(
        () => {
          deleted.push(c.id);
          spaceReclaimed += size;
        },
        () => {},
      );
    }
    return { deleted, spaceReclaimed };
  }

  /**
   * `builder prune` of the builder's cache (`src/build/prune.ts`): `until`/`unused-for` limit by
   * age, `id` and `type` (BuildKit's `regular`, `exec.cachemount`) select; the keys about what
   * pier's records never have select nothing (`label`, `description`, `parent`, `shared`,
   * `private`, `inuse=true`: nothing in use is removed) or everything (`label!`, `inuse=false`).
   * Records a `builder prune` event with the space reclaimed, as Docker does.
   */
  async pruneBuildCache(
    filters: Filters,
    opts: { all?: boolean; keepStorage?: number } = {},
  ): Promise<PruneReport<string>> {
    checkFilters(filters, "builderPrune");
    let until: number | undefined;
    for (const key of ["until", "unused-for"])
      for (const v of filters[key] ?? []) {
        const t = Date.now() - durationMs(v);
        until = until === undefined ? t : Math.min(until, t);
      }
    const never = ["label", "description", "parent", "shared", "private"].some((k) => filters[k]?.length);
    const inuse = filters.inuse?.[0];
    const store = this.images.service.store;
    const r = await pruneBuildCache(store, join(store.root, "build"), {
      ...(opts.all ? { all: true } : {}),
      ...(until !== undefined ? { until: new Date(until) } : {}),
      ...(opts.keepStorage !== undefined ? { keepStorage: opts.keepStorage } : {}),
      match: (e) =>
        !never &&
        inuse !== "true" &&
        inuse !== "1" &&
        (filters.id === undefined ||
          filters.id.some((id) => e.id === id || e.id.split(":")[1]!.startsWith(id))) &&
        (filters.type === undefined || filters.type.includes(e.type)),
    });
    this.events.record("builder", "prune", "", { reclaimed: String(r.reclaimed) });
    return { deleted: r.deleted, spaceReclaimed: r.reclaimed };
  }

  /**
   * As `docker system prune`: stopped containers, unused networks, dangling images (every unused
   * image with `allImages`), unused volumes with `volumes`, each passing `filters`. Every step's
   * filters are checked before the first removes anything (`until` is refused with `volumes`, as
   * the docker CLI refuses it).
   */
  async prune(opts: { allImages: boolean; volumes: boolean; filters?: Filters }): Promise<SystemPruneReport> {
    const filters = opts.filters ?? {};
    const imageFilters = { ...filters, dangling: [opts.allImages ? "false" : "true"] };
    checkFilters(filters, "containerPrune");
    checkFilters(filters, "networkPrune");
    checkFilters(imageFilters, "imagePrune");
    if (opts.volumes && filters.until?.length)
      throw new EngineError("INVALID_ARGUMENT", `the "until" filter is not supported with volumes`);
    if (opts.volumes) checkFilters(filters, "volumePrune");
    untilMs(filters);
    const containers = await this.pruneContainers(filters);
    const networks = await this.networks.prune(filters);
    const images = await this.images.prune(imageFilters);
    const volumes = opts.volumes ? await this.volumes.prune(filters) : { deleted: [], spaceReclaimed: 0 };
    return {
      containersDeleted: containers.deleted,
      networksDeleted: networks,
      imagesDeleted: images.deleted,
      volumesDeleted: volumes.deleted,
      spaceReclaimed: containers.spaceReclaimed + images.spaceReclaimed + volumes.spaceReclaimed,
    };
  }
}
