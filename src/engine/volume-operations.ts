/**
 * The engine's volume operations, as every API front calls them: create (validated once, here),
 * list with Docker's filters, inspect, remove and prune, each recording its own event.
 */
import { randomBytes } from "node:crypto";
import type { ContainerService } from "./containers/service.js";
import { EngineError } from "./error.js";
import type { EventLog } from "./events.js";
import { boolFilter, checkFilters, type Filters, labelsPass, matchKVList } from "./filters.js";
import type { PruneReport } from "./reports.js";
import { diskUsage } from "./system.js";
import type { VolumeInfo, VolumeService } from "./volumes.js";

/** The input of {@link VolumeOperations.create}, whatever front it came from. */
export interface VolumeCreateInput {
  /** Default: 64 random hex digits, as Docker names anonymous volumes. */
  name?: string | undefined;
  /** Only `local` (or none) is supported. */
  driver?: unknown;
  /** Not supported yet: refused when not empty. */
  driverOpts?: unknown;
  labels?: unknown;
}

/** Label of anonymous volumes (what `rm -v` and `volume prune` without `all` remove). */
const ANONYMOUS_LABEL = "com.docker.volume.anonymous";

/**
 * Whether a volume passes `docker volume ls --filter` (`name` substring, `label` k or k=v,
 * `dangling` true/false given its users, `driver`). Unknown filters are refused. Pure.
 */
export function volumeMatches(
  v: { Name: string; Labels: Record<string, string> },
  users: number,
  filters: Filters,
): boolean {
  checkFilters(filters, "volumeList");
  const dangling = boolFilter(filters, "dangling");
  if (dangling !== undefined && (users === 0) !== dangling) return false;
  if (filters.name?.length && !filters.name.some((n) => v.Name.includes(n))) return false;
  if (filters.driver?.length && !filters.driver.includes("local")) return false;
  return matchKVList(filters, "label", v.Labels);
}

/** Volumes as the engine's fronts operate on them. */
export class VolumeOperations {
  constructor(
    private readonly volumes: VolumeService,
    private readonly containers: ContainerService,
    private readonly events: EventLog,
  ) {}

  /**
   * Creates a `local` volume (or finds the existing one), recording `create` when it is new.
   * A driver other than `local`, driver options and non-string labels are refused by name.
   */
  async create(input: VolumeCreateInput): Promise<VolumeInfo> {
    const { driver, driverOpts, labels } = input;
    if (driver !== undefined && driver !== null && driver !== "" && driver !== "local")
      throw new EngineError(
        "INVALID_ARGUMENT",
        `volume driver ${String(driver)} is not supported (only local)`,
      );
    if (driverOpts && typeof driverOpts === "object" && Object.keys(driverOpts).length)
      throw new EngineError("INVALID_ARGUMENT", "volume driver options are not supported by pier yet");
    if (
      labels !== undefined &&
      labels !== null &&
      (typeof labels !== "object" ||
        Array.isArray(labels) ||
        Object.values(labels).some((v) => typeof v !== "string"))
    )
      throw new EngineError("INVALID_ARGUMENT", "labels must map strings to strings");
    const name = input.name || randomBytes(32).toString("hex");
    if (await this.volumes.ensure(name, (labels ?? {}) as Record<string, string>))
      this.events.record("volume", "create", name, { driver: "local" });
    return this.volumes.inspect(name);
  }

  /** The volumes passing `filters` (Docker's `volume ls --filter`). */
  async list(filters: Filters = {}): Promise<VolumeInfo[]> {
    checkFilters(filters, "volumeList");
    const all = await this.volumes.list();
    return all.filter((v) => volumeMatches(v, this.containers.volumeUsers(v.Name).length, filters));
  }

  /** One volume; `NOT_FOUND` when absent. */
  inspect(name: string): VolumeInfo {
    return this.volumes.inspect(name);
  }

  /** Names of the containers that mount volume `name`. */
  users(name: string): string[] {
    return this.containers.volumeUsers(name);
  }

  /** Removes volume `name` and records `destroy`; `INVALID_STATE` while a container uses it. */
  async remove(name: string): Promise<void> {
    await this.containers.removeVolume(name);
    this.events.record("volume", "destroy", name, { driver: "local" });
  }

  /**
   * Removes every volume no container uses (API 1.41: named and anonymous; with `all=false`
   * anonymous ones only) passing the `label` and `label!` filters.
   */
  async prune(filters: Filters): Promise<PruneReport<string>> {
    checkFilters(filters, "volumePrune");
    const anonymousOnly = boolFilter(filters, "all") === false;
    const deleted: string[] = [];
    let spaceReclaimed = 0;
    for (const v of await this.volumes.list()) {
      if (this.users(v.Name).length) continue;
      if (anonymousOnly && !(ANONYMOUS_LABEL in v.Labels)) continue;
      if (!labelsPass(filters, v.Labels)) continue;
      const size = await diskUsage(v.Mountpoint);
      await this.remove(v.Name);
      deleted.push(v.Name);
      spaceReclaimed += size;
    }
    return { deleted, spaceReclaimed };
  }
}
