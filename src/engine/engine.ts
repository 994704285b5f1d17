/**
 * The engine as a library: one object with every service an API front calls (containers,
 * images, volumes, networks, system, exec, events, stats). Each service owns its effects and
 * records its own events, so pier's API, the Docker API and any further front only translate
 * wire formats to these calls. Composed by the daemon (`daemon/daemon.ts`).
 */

import { CheckpointOperations } from "./checkpoints/operations.js";
import { ImageCommits } from "./commit.js";
import { ContainerFiles } from "./container-files.js";
import { HealthMonitor } from "./containers/health.js";
import type { ContainerService } from "./containers/service.js";
import { type EventLog, eventLog } from "./events.js";
import { ExecService } from "./exec.js";
import { ImageArchives } from "./image-archives.js";
import { ImageOperations } from "./image-operations.js";
import type { ImageService } from "./images.js";
import type { NetworkService } from "./network/service.js";
import { NetworkOperations } from "./network-operations.js";
import type { Snapshotter } from "./snapshots/snapshotter.js";
import { StatsService } from "./stats.js";
import { SystemService } from "./system.js";
import { VolumeOperations } from "./volume-operations.js";
import type { VolumeService } from "./volumes.js";

/** The parts the daemon opens, from which {@link Engine} composes its services. */
export interface EngineParts {
  containers: ContainerService;
  images: ImageService;
  volumes: VolumeService;
  networks: NetworkService;
  snapshots: Snapshotter;
}

/** Every operation of the engine, by service. */
export class Engine {
  /** What happened (Docker's event messages), recorded by each service. */
  readonly events: EventLog;
  readonly containers: ContainerService;
  readonly images: ImageOperations;
  readonly volumes: VolumeOperations;
  readonly networks: NetworkOperations;
  readonly snapshots: Snapshotter;
  readonly system: SystemService;
  readonly execs: ExecService;
  readonly stats: StatsService;
  /** The containers' healthchecks (probes through {@link execs}). */
  readonly health: HealthMonitor;
  /** Containers' files: diff, archive (cp), export. */
  readonly files: ContainerFiles;
  /** New images from a container (commit) or a tar (import). */
  readonly commits: ImageCommits;
  /** Image history, save and load. */
  readonly archives: ImageArchives;
  /** Checkpoints (CRIU), their archives, imports and migrations. */
  readonly checkpoints: CheckpointOperations;

  constructor(parts: EngineParts) {
    this.containers = parts.containers;
    this.snapshots = parts.snapshots;
    this.events = eventLog(parts.containers);
    this.networks = new NetworkOperations(parts.networks, parts.containers, this.events);
    this.images = new ImageOperations(parts.images, parts.containers, this.events);
    this.volumes = new VolumeOperations(parts.volumes, parts.containers, this.events);
    this.system = new SystemService(parts.containers, this.images, this.volumes, this.events, this.networks);
    this.execs = new ExecService(parts.containers, this.events);
    this.stats = new StatsService(parts.containers);
    this.health = new HealthMonitor(parts.containers, this.execs);
    this.files = new ContainerFiles(parts.containers);
    this.commits = new ImageCommits(parts.containers, this.files, this.events);
    this.archives = new ImageArchives(this.images, parts.containers, this.events);
    this.checkpoints = new CheckpointOperations(parts.containers, this.images, this.events);
  }
}
