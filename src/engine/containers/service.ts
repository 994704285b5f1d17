/**
 * The container service: create (image → snapshot → bundle → metadata), start (through a
 * monitor that runs the runtime's create; `start` itself through the runtime library in-process),
 * stop/kill/restart/remove, wait, restart policies, auto-remove, and re-adoption of running
 * containers after a pierd restart.
 *
 * Layout: `<root>/containers/<id>/` (config.json, `<id>-json.log`, exit.json),
 * `<root>/rw/<id>/` (the snapshot), `<execRoot>/runtime/` (the runtime's state),
 * `<execRoot>/containers/<id>/` (pid file, runtime log), `<execRoot>/a/<id12>.sock` (stdin).
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readUserFiles } from "../../image/rootfs-files.js";
import { resolveInRoot } from "../../layer/index.js";
import { checkpointContainer } from "../../runtime/checkpoint/checkpoint.js";
import { runtimeFrontEnd } from "../../runtime/helper.js";
import { type RuntimeContext, runtimeContext } from "../../runtime/lifecycle/context.js";
import { createContainer } from "../../runtime/lifecycle/create.js";
import { deleteContainer } from "../../runtime/lifecycle/delete.js";
import { killContainer } from "../../runtime/lifecycle/kill.js";
import { pauseContainer, resumeContainer, updateContainer } from "../../runtime/lifecycle/pause.js";
import { parseSignal } from "../../runtime/lifecycle/signals.js";
import { startContainer } from "../../runtime/lifecycle/start.js";
import { EngineError } from "../error.js";
import type { ImageService } from "../images.js";
import { logRotation } from "../log-options.js";
import { exposeAndPublish } from "../network/ports.js";
import type { ContainerNetworkRequest, NetworkService } from "../network/service.js";
import type { Snapshotter } from "../snapshots/snapshotter.js";
import type { VolumeService } from "../volumes.js";
import {
  type ContainerConfig,
  type ContainerCreateInput,
  checkName,
  containerSpec,
  disposableRootfs,
  isSystemContainer,
  parseContainerConfig,
  parseSpecText,
  specText,
} from "./config.js";
import { imageHealthcheck, mergeHealthcheck } from "./health-config.js";
import { readHostFacts } from "./host-facts.js";
import { IdleWork } from "./idle-work.js";
import { dockerInitBinary } from "./init.js";
import {
  bindShm,
  type IpcDonor,
  joinableShm,
  mountShareableShm,
  shareableShmPath,
  unmountShareableShm,
} from "./ipc-shm.js";
import {
  discardSpareMonitor,
  launchMonitor,
  type MonitorLauncher,
  monitorLauncher,
  processAlive,
  readExitFile,
  reopenCriLog,
  startSpareMonitor,
} from "./monitor.js";
import { commandProblem, ensureWorkingDir } from "./process-check.js";
import { JOINABLE_NAMESPACES, joinContainerNamespaces, namespaceTarget } from "./security.js";
import { type ContainerRecord, ContainerStore } from "./store.js";
import { applyGuestCriuConfig, SYSTEMD_STOP_SIGNAL, writeMachineId } from "./systemd-mode.js";
import { consoleSocketPath, terminalFiles } from "./terminal.js";
import { type ContainerUpdateInput, planUpdate } from "./update.js";

/** How {@link ContainerService.restoreTask} brings a container back from a checkpoint. */
export interface TaskRestore {
  /** The CRIU images (a checkpoint's `checkpoint/` directory). */
  imagePath: string;
  /** Where CRIU writes its restore.log. */
  workPath: string;
  /** The checkpoint was made with `--tcp-established`. */
  tcpEstablished?: boolean;
  /** The address the container had (asked for again where the network allows it). */
  previousAddress?: string;
  /** The MAC address it had (given again with its address). */
  previousMac?: string;
}

/** What {@link ContainerService.checkpointTask} dumps and how. */
export interface TaskCheckpoint {
  imagePath: string;
  workPath: string;
  /** Leave the container running (else its task ends, as `docker checkpoint create`). */
  leaveRunning?: boolean;
  tcpEstablished?: boolean;
  /** Aborted: criu is killed, the container goes on. */
  signal?: AbortSignal;
}

/** Docker's `wait` conditions. */
export type WaitCondition = "not-running" | "next-exit" | "removed";

/** What `wait` resolves with: the exit code, and the runtime's error when the start failed. */
export interface WaitResult {
  exitCode: number;
  error: string | null;
}

/** Options of {@link ContainerService}. */
export interface ContainerServiceOptions {
  root: string;
  execRoot: string;
  images: ImageService;
  snapshots: Snapshotter;
  /** Receives one message per notable event (for the daemon's JSON log). */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Named volumes (`<root>/volumes`). */
  volumes: VolumeService;
  /** Networks and each running container's attachment. */
  networks: NetworkService;
  /**
   * dockerd's `--init`: containers that do not say (`init` unset) get the init; `init: false`
   * overrides it. Decided at create and recorded in the container's config (Docker decides at
   * each start).
   */
  defaultInit?: boolean;
}

const RUNTIME_MAIN = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "runtime", "cli", "main.js");
/** Docker's label on anonymous volumes (what `rm -v` removes). */
const ANONYMOUS_LABEL = "com.docker.volume.anonymous";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * How long no container operation must run before housekeeping (the next spare monitor) does:
 * longer than the gaps between the requests of one `pier run`/`docker run`, short enough to fall
 * between two commands of a script.
 */
const QUIET_MS = 10;

/**
 * Containers and their tasks. Emits `create` (id), `start` (id), `exit` (id, code),
 * `removed` (id, code), `kill` (id, signal), `stop`, `restart`, `pause` and `unpause` (id).
 * Every create either completes or removes what it made (snapshot, directory, record).
 */
export class ContainerService extends EventEmitter {
  readonly store: ContainerStore;
  readonly root: string;
  readonly execRoot: string;
  /** See {@link ContainerServiceOptions.defaultInit}. */
  readonly defaultInit: boolean;
  readonly images: ImageService;
  readonly snapshots: Snapshotter;
  /** Named volumes (`<root>/volumes`). */
  readonly volumes: VolumeService;
  /** Networks and each running container's attachment. */
  readonly networks: NetworkService;
  private readonly runtime: RuntimeContext;
  private readonly log: (msg: string, fields?: Record<string, unknown>) => void;
  /** Containers the user stopped (restart policies do not bring those back). */
  private readonly stopped = new Set<string>();
  private readonly watching = new Set<string>();
  /** Freezes held by host-side file work ({@link ContainerService.hold}), by container. */
  private readonly holds = new Map<string, { count: number; thaw: boolean; frozen: Promise<void> }>();
  /** Removals in progress, by container. */
  private readonly removals = new Map<string, Promise<void>>();
  /** Housekeeping held back while a container is created, started, exits or is removed. */
  private readonly idle = new IdleWork(QUIET_MS);
  private closed = false;

  constructor(opts: ContainerServiceOptions) {
    super();
    this.setMaxListeners(0);
    this.root = opts.root;
    this.execRoot = opts.execRoot;
    this.defaultInit = opts.defaultInit === true;
    this.images = opts.images;
    this.snapshots = opts.snapshots;
    this.log = opts.log ?? (() => {});
    this.store = new ContainerStore(join(opts.root, "engine.db"));
    this.volumes = opts.volumes;
    this.networks = opts.networks;
    this.runtime = runtimeContext(join(opts.execRoot, "runtime"), (m) => this.log(`runtime: ${m}`));
  }

  /**
   * `docker update`: new resource limits (and restart policy) for container `ref`, written to
   * its cgroup through the runtime's update when it runs and kept in its config (and
   * `config.json`) for its next starts. Errors name the field; nothing changes on an error.
   */
  async update(ref: string, input: ContainerUpdateInput): Promise<ContainerRecord> {
    const rec = this.find(ref);
    const plan = planUpdate(rec.config, input, readHostFacts());
    const specPath = join(this.dir(rec.id), "config.json");
    const spec = parseSpecText(readFileSync(specPath, "utf8"));
    const linux = spec.linux ?? {};
    spec.linux = linux;
    const { memory, cpu, pids, blockIO, hugepageLimits, unified } = plan.resources;
    linux.resources = {
      ...(linux.resources?.devices ? { devices: linux.resources.devices } : {}),
      memory,
      cpu,
      pids,
      blockIO,
      hugepageLimits,
      unified,
    };
    if (rec.status === "running") {
      try {
        await updateContainer(this.runtime, rec.id, plan.resources);
      } catch (err) {
        throw new EngineError(
          "INVALID_ARGUMENT",
          `Cannot update container ${rec.id}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    }
    writeFileSync(specPath, specText(spec));
    const updated = this.store.setConfig(rec.id, plan.config);
    this.emit("update", rec.id);
    return updated;
  }

  /** Directory of a container's persistent files. */
  dir(id: string): string {
    return join(this.root, "containers", id);
  }

  /** Path of a container's json-file log. */
  logPath(id: string): string {
    return join(this.dir(id), `${id}-json.log`);
  }

  private exitFile(id: string): string {
    return join(this.dir(id), "exit.json");
  }

  private runDir(id: string): string {
    return join(this.execRoot, "containers", id);
  }

  /** The unix socket that feeds a running container's stdin (when it keeps stdin open). */
  attachSocket(id: string): string {
    return join(this.execRoot, "a", `${id.slice(0, 16)}.sock`);
  }

  /** Finds a container by id, name or id prefix; throws `NOT_FOUND`. */
  find(ref: string): ContainerRecord {
    return this.store.find(ref);
  }

  /** Every container, newest first. */
  list(): ContainerRecord[] {
    return this.store.list();
  }

  /**
   * Validates a create request from any front (see {@link ContainerCreateInput}) and creates
   * the container: the one place a create input is checked. `signal`: as {@link create}'s.
   */
  createFrom(input: ContainerCreateInput, name?: string, signal?: AbortSignal): Promise<ContainerRecord> {
    return this.create(parseContainerConfig(input), name, signal);
  }

  /**
   * Creates a container from `config` (image must be local: `IMAGE_NOT_FOUND` otherwise), named
   * `name` or a generated name. Throws `NAME_CONFLICT` for a used name. When `signal` aborts
   * (the client went away), the unpack of its layers stops and nothing of it stays.
   */
  create(requested: ContainerConfig, name?: string, signal?: AbortSignal): Promise<ContainerRecord> {
    return this.idle.during(() => this.createNow(requested, name, signal));
  }

  /** The create itself (see {@link ContainerService.create}). */
  private async createNow(
    requested: ContainerConfig,
    name?: string,
    signal?: AbortSignal,
  ): Promise<ContainerRecord> {
    // Anonymous volumes get a random name, as in Docker, recorded so `volume rm` sees their users.
    const config: ContainerConfig = requested.mounts
      ? {
          ...requested,
          mounts: requested.mounts.map((m) =>
            m.type === "volume" && m.source === "" ? { ...m, source: randomBytes(32).toString("hex") } : m,
          ),
        }
      : { ...requested };
    const image = await this.images.resolve(config.image);
    // The image's EXPOSE joins the container's; -P publishes them all (not with none/host).
    const bridged = config.networkMode !== "host" && config.networkMode !== "none";
    const exposure = exposeAndPublish(Object.keys(image.config.config?.ExposedPorts ?? {}), {
      ...config,
      publishAll: config.publishAll === true && bridged,
    });
    if (exposure.exposedPorts.length) config.exposedPorts = exposure.exposedPorts;
    if (exposure.ports.length) config.ports = exposure.ports;
    // The image's Config.Volumes become anonymous volumes where nothing else is mounted (as Docker).
    const mounted = new Set((config.mounts ?? []).map((m) => m.target));
    const imageVolumes = Object.keys(image.config.config?.Volumes ?? {}).filter((t) => !mounted.has(t));
    if (imageVolumes.length)
      config.mounts = [
        ...(config.mounts ?? []),
        ...imageVolumes.map((target) => ({
          type: "volume" as const,
          source: randomBytes(32).toString("hex"),
          target,
        })),
      ];
    // As Docker, the container keeps the image's stop signal and healthcheck merged into its own.
    const imageStopSignal = image.config.config?.StopSignal;
    if (config.stopSignal === undefined && imageStopSignal) config.stopSignal = imageStopSignal;
    const healthcheck = mergeHealthcheck(imageHealthcheck(image.config), config.healthcheck);
    if (healthcheck) config.healthcheck = healthcheck;
    // pierd's --init default, recorded: inspect shows what applies, and a later default does not change it.
    if (config.init === undefined && this.defaultInit) config.init = true;
    const initBinary = config.init ? dockerInitBinary() : undefined;
    const id = randomBytes(32).toString("hex");
    const finalName = name ? checkName(name) : `pier_${id.slice(0, 12)}`;
    const sources: Record<string, string> = {};
    for (const m of config.mounts ?? []) {
      if (m.type !== "bind") continue;
      if (!existsSync(m.source) && m.createSource) mkdirSync(m.source, { recursive: true, mode: 0o755 });
      else if (!existsSync(m.source))
        throw new EngineError(
          "INVALID_ARGUMENT",
          `invalid mount config: bind source path does not exist: ${m.source}`,
        );
      sources[m.target] = m.source;
    }
    this.networks.resolveMode(config.networkMode);
    const systemContainer = isSystemContainer(image.config, config);
    // A guest init halts cleanly on its own signal; an explicit --stop-signal still wins.
    if (systemContainer && config.stopSignal === undefined) config.stopSignal = SYSTEMD_STOP_SIGNAL;
    const rec = this.store.insert({ id, name: finalName, config, imageId: image.descriptor.digest });
    const newVolumes: string[] = [];
    try {
      const rootfs = await this.snapshots.prepare(id, this.images.layers(image), signal, {
        volatile: disposableRootfs(config),
      });
      for (const m of config.mounts ?? []) {
        if (m.type !== "volume") continue;
        const anonymous = !requested.mounts?.some((r) => r.type === "volume" && r.source === m.source);
        if (await this.volumes.ensure(m.source, anonymous ? { [ANONYMOUS_LABEL]: "" } : {})) {
          newVolumes.push(m.source);
          await this.volumes.populate(m.source, resolveInRoot(rootfs, m.target, { followFinal: true }));
        }
        sources[m.target] = this.volumes.dataPath(m.source);
      }
      const files = await readUserFiles(rootfs);
      const network = await this.networks.prepare(this.networkRequest(id, finalName, config));
      const spec = containerSpec(image.config, config, {
        id,
        rootfs,
        files,
        sources,
        network,
        ...(initBinary ? { initBinary } : {}),
        ...(config.security?.ipcMode === "shareable" ? { shmSource: shareableShmPath(this.dir(id)) } : {}),
      });
      // As Docker: `-w` to a missing directory makes it.
      if (spec.process?.cwd) ensureWorkingDir(rootfs, spec.process.cwd);
      mkdirSync(this.dir(id), { recursive: true, mode: 0o700 });
      if (systemContainer) {
        writeMachineId(rootfs, id);
        applyGuestCriuConfig(spec, this.dir(id));
      }
      writeFileSync(join(this.dir(id), "config.json"), specText(spec));
      writeFileSync(this.logPath(id), "", { mode: 0o640 });
      this.log("container created", { id, name: finalName });
      this.emit("create", id);
      return rec;
    } catch (err) {
      await this.snapshots.remove(id).catch(() => {});
      await rm(this.dir(id), { recursive: true, force: true });
      this.store.delete(id);
      for (const v of newVolumes) await this.volumes.remove(v, []).catch(() => {});
      throw err;
    }
  }

  /**
   * Makes the monitor of running container `ref` reopen its CRI log (the CRI's
   * ReopenContainerLog, after the kubelet renamed the file). `INVALID_STATE` unless it runs with
   * a CRI log.
   */
  reopenCriLog(ref: string): void {
    const rec = this.find(ref);
    if (!rec.config.criLogPath)
      throw new EngineError("INVALID_STATE", `container ${rec.id} has no CRI log to reopen`);
    if (rec.status !== "running" || !reopenCriLog(rec.monitorPid))
      throw new EngineError("INVALID_STATE", `container ${rec.id} is not running`);
  }

  /** Starts a created or exited container; resolves once its process runs. */
  async start(ref: string): Promise<ContainerRecord> {
    const rec = this.find(ref);
    if (rec.status === "running")
      throw new EngineError("INVALID_STATE", `container ${rec.id} is already running`);
    if (rec.status === "removing")
      throw new EngineError(
        "INVALID_STATE",
        `container ${rec.id} is marked for removal and cannot be started`,
      );
    this.userStopped(rec.id, false);
    try {
      return await this.launch(rec);
    } catch (err) {
      // As Docker: a --rm container that cannot start is removed (its client waits for that).
      if (rec.config.autoRemove) await this.remove(rec.id, true, true).catch(() => {});
      throw err;
    }
  }

  /**
   * Dumps the task of running container `ref` with CRIU (`docker checkpoint create`): unless
   * `leaveRunning`, the task ends and the container is recorded as exited (not restarted by its
   * restart policy, as a user stop). Throws `INVALID_STATE` unless it runs.
   */
  async checkpointTask(ref: string, opts: TaskCheckpoint): Promise<ContainerRecord> {
    const rec = this.find(ref);
    if (rec.status !== "running")
      throw new EngineError("INVALID_STATE", `container ${rec.id} is not running`);
    if (!opts.leaveRunning) this.userStopped(rec.id, true);
    const exited = opts.leaveRunning ? undefined : this.waitExit(rec.id);
    try {
      await checkpointContainer(this.runtime, {
        id: rec.id,
        imagePath: opts.imagePath,
        workPath: opts.workPath,
        leaveRunning: opts.leaveRunning === true,
        tcpEstablished: opts.tcpEstablished === true,
        env: process.env,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      if (!opts.leaveRunning) this.userStopped(rec.id, false);
      throw err;
    }
    if (exited) await exited;
    return this.find(rec.id);
  }

  /**
   * Starts created or exited container `ref` from a checkpoint instead of its command: its
   * network comes up first (the old address where it fits), then the runtime's `restore` runs
   * under a new monitor, which adopts the restored task as it adopts a created one.
   */
  async restoreTask(ref: string, from: TaskRestore): Promise<ContainerRecord> {
    const rec = this.find(ref);
    if (rec.status === "running")
      throw new EngineError("INVALID_STATE", `container ${rec.id} is already running`);
    if (rec.status === "removing")
      throw new EngineError("INVALID_STATE", `container ${rec.id} is marked for removal`);
    this.userStopped(rec.id, false);
    return this.launch(rec, rec.restartCount, from);
  }

  /**
   * The runtime command line that restores `id` from `from` (run by the monitor); a terminal's
   * new pty master goes to the monitor's console socket, as at create.
   */
  private restoreCommand(
    id: string,
    from: TaskRestore,
    pidFile: string,
    logFile: string,
    consoleSocket: string | undefined,
  ): string[] {
    const frontEnd = runtimeFrontEnd();
    const runtime = frontEnd ? [frontEnd] : [process.execPath, RUNTIME_MAIN];
    return [
      ...runtime,
      "--root",
      join(this.execRoot, "runtime"),
      "--log",
      logFile,
      "--log-format",
      "json",
      "restore",
      "--detach",
      "--image-path",
      from.imagePath,
      "--work-path",
      from.workPath,
      "--bundle",
      this.dir(id),
      "--pid-file",
      pidFile,
      ...(from.tcpEstablished ? ["--tcp-established"] : []),
      ...(consoleSocket ? ["--console-socket", consoleSocket] : []),
      id,
    ];
  }

  /**
   * Creates and starts the task of `rec` (or, with `restore`, restores it from a checkpoint);
   * `restartCount` is recorded with the running status.
   */
  private async launch(
    rec: ContainerRecord,
    restartCount = rec.restartCount,
    restore?: TaskRestore,
  ): Promise<ContainerRecord> {
    try {
      return await this.idle.during(() => this.launchNow(rec, restartCount, restore));
    } finally {
      // The start took the spare monitor: the next one is started once pierd is quiet.
      this.idle.whenIdle(startSpareMonitor);
    }
  }

  /** The launch itself (see {@link ContainerService.launch}). */
  private async launchNow(
    rec: ContainerRecord,
    restartCount: number,
    restore: TaskRestore | undefined,
  ): Promise<ContainerRecord> {
    const { id } = rec;
    const run = this.runDir(id);
    mkdirSync(run, { recursive: true, mode: 0o700 });
    mkdirSync(join(this.execRoot, "a"), { recursive: true, mode: 0o700 });
    rmSync(this.exitFile(id), { force: true });
    rmSync(join(run, "pid"), { force: true });
    if (!this.snapshots.isMounted(id)) {
      // After a reboot the overlay is gone: mount it again from the image.
      const image = await this.images.store.resolveDescriptor({
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: rec.imageId as `${string}:${string}`,
        size: 0,
      });
      await this.snapshots.remove(id);
      await this.snapshots.prepare(id, this.images.layers(image), undefined, {
        volatile: disposableRootfs(rec.config),
      });
    }
    // A command that is not there (127) or cannot run (126) fails the start with Docker's message.
    const spec = parseSpecText(readFileSync(join(this.dir(id), "config.json"), "utf8"));
    const problem = commandProblem(this.snapshots.rootfs(id), spec);
    if (problem) {
      this.store.update(id, {
        status: "exited",
        exitCode: problem.exitCode,
        error: problem.message,
        finishedAt: now(),
      });
      throw new EngineError("CREATE_FAILED", problem.message);
    }
    await deleteContainer(this.runtime, id, true).catch(() => {});
    this.joinPeerNamespaces(rec);
    if (rec.config.security?.ipcMode === "shareable")
      await mountShareableShm(this.dir(id), rec.config.resources?.shmSize);
    // The plugins run while the runtime creates the container; its process starts after both.
    let attached: Promise<unknown>;
    try {
      const req = this.networkRequest(id, rec.name, rec.config);
      if (restore?.previousAddress) req.previousAddress = restore.previousAddress;
      if (restore?.previousMac) req.previousMac = restore.previousMac;
      if (restore?.tcpEstablished) req.restoredConnections = true;
      ({ attached } = await this.networks.begin(req));
    } catch (err) {
      this.store.update(id, {
        status: "exited",
        exitCode: 127,
        error: (err as Error).message,
        finishedAt: now(),
      });
      throw err;
    }
    // pier-init runs directly under the monitor; this process speaks its protocol in-process.
    const files = {
      log: this.logPath(id),
      pidFile: join(run, "pid"),
      exitFile: this.exitFile(id),
      ...(rec.config.openStdin ? { attachSocket: this.attachSocket(id) } : {}),
      ...terminalFiles(this.execRoot, id, rec.config),
      ...(rec.config.openStdin && rec.config.stdinOnce ? { stdinOnce: true } : {}),
      ...logRotation(rec.config.logOptions),
      ...(rec.config.criLogPath ? { criLog: rec.config.criLogPath } : {}),
    };
    let launched: Awaited<ReturnType<MonitorLauncher["launched"]>>;
    try {
      if (restore) {
        // The restored processes run at once: their network must be there first.
        await attached;
        const runtimeLog = join(run, "restore-log.json");
        rmSync(runtimeLog, { force: true });
        launched = await launchMonitor(
          files,
          this.restoreCommand(id, restore, files.pidFile, runtimeLog, files.consoleSocket),
          () => runtimeLogError(runtimeLog),
        );
      } else {
        const monitor = monitorLauncher(files);
        await createContainer(this.runtime, {
          id,
          bundle: this.dir(id),
          mode: "detach",
          launch: monitor.launch,
          earlyPidFile: join(run, "pid"),
          ...(rec.config.tty ? { consoleSocket: consoleSocketPath(this.execRoot, id) } : {}),
        });
        launched = await monitor.launched();
      }
    } catch (err) {
      const message = (err as Error).message;
      await this.networks.teardown(id).catch((e: Error) => this.log(`network teardown ${id}: ${e.message}`));
      this.store.update(id, { status: "exited", exitCode: 127, error: message, finishedAt: now() });
      throw err instanceof EngineError ? err : new EngineError("CREATE_FAILED", message, { cause: err });
    }
    // The moment the process is let go: a container quick to exit finishes after it, not before.
    let startedAt = now();
    try {
      await attached;
      startedAt = now();
      if (!restore) await startContainer(this.runtime, id);
    } catch (err) {
      try {
        process.kill(launched.containerPid, "SIGKILL");
      } catch {}
      await this.networks.teardown(id).catch((e: Error) => this.log(`network teardown ${id}: ${e.message}`));
      this.store.update(id, {
        status: "exited",
        exitCode: 127,
        error: (err as Error).message,
        finishedAt: now(),
      });
      throw err;
    }
    const updated = this.store.update(id, {
      status: "running",
      restartCount,
      pid: launched.containerPid,
      monitorPid: launched.monitorPid,
      startedAt,
      error: "",
    });
    this.emit("start", id);
    this.watch(id, launched.gone);
    return updated;
  }

  /**
   * `--pid container:NAME`, `--ipc container:NAME`: that container's namespaces, joined through
   * its current process at each start (it must run, as with Docker); with the IPC namespace its
   * `/dev/shm`, which only a shareable (or host) one has.
   */
  private joinPeerNamespaces(rec: ContainerRecord): void {
    const joins: Partial<Record<keyof typeof JOINABLE_NAMESPACES, number>> = {};
    let shm: string | undefined;
    for (const [type, key] of Object.entries(JOINABLE_NAMESPACES) as [
      keyof typeof JOINABLE_NAMESPACES,
      (typeof JOINABLE_NAMESPACES)[keyof typeof JOINABLE_NAMESPACES],
    ][]) {
      const ref = namespaceTarget(rec.config.security?.[key]);
      if (ref === undefined) continue;
      const peer = this.find(ref);
      if (peer.status !== "running" || !processAlive(peer.pid))
        throw new EngineError(
          "INVALID_STATE",
          `cannot join the ${type} namespace of container ${peer.id}: it is not running`,
        );
      joins[type] = peer.pid;
      if (type === "ipc") shm = joinableShm(this.ipcDonor(peer), (ref) => this.ipcDonor(this.find(ref)));
    }
    if (!Object.keys(joins).length) return;
    const specPath = join(this.dir(rec.id), "config.json");
    const spec = parseSpecText(readFileSync(specPath, "utf8"));
    joinContainerNamespaces(spec, joins);
    if (shm) bindShm(spec, shm);
    writeFileSync(specPath, specText(spec));
  }

  private ipcDonor(rec: ContainerRecord): IpcDonor {
    return { id: rec.id, ipcMode: rec.config.security?.ipcMode, dir: this.dir(rec.id) };
  }

  /** Follows a running container until its monitor wrote the exit file. */
  private watch(id: string, gone?: Promise<void>): void {
    if (this.watching.has(id)) return;
    this.watching.add(id);
    const exitFile = this.exitFile(id);
    let done = false;
    const check = async () => {
      if (done || this.closed) return;
      const rec = this.store.get(id);
      if (!rec) {
        done = true;
        return;
      }
      const exit = readExitFile(exitFile);
      if (exit) {
        done = true;
        clearInterval(timer);
        await this.onExit(id, exit.exitCode, exit.finishedAt);
      } else if (!processAlive(rec.monitorPid)) {
        // Give a just-written exit file one more look before calling the monitor lost.
        await sleep(50);
        if (readExitFile(exitFile)) return check();
        done = true;
        clearInterval(timer);
        await this.onExit(id, 255, now(), "the container's monitor died");
      }
    };
    // The monitor's exit (`gone`) says when to look; without it (found after a restart), or in
    // case it was missed, the exit file is polled.
    const timer = setInterval(
      () => void check().catch((e) => this.log(`watch ${id}: ${e}`)),
      gone ? 2000 : 200,
    );
    timer.unref();
    void gone?.then(() => check().catch((e) => this.log(`watch ${id}: ${e}`)));
  }

  private async onExit(id: string, code: number, finishedAt: string, error = ""): Promise<void> {
    this.watching.delete(id);
    // Busy until the exit is heard (not through a restart policy's back-off).
    const rec = await this.idle.during(async () => {
      // As Docker: the network and the runtime's state are gone by the time waiters hear of the exit.
      // The two do not depend on each other: together, the exit is heard after the longer one only.
      await Promise.all([
        deleteContainer(this.runtime, id, true).catch((e: Error) =>
          this.log(`runtime delete ${id}: ${e.message}`),
        ),
        this.networks.teardown(id).catch((e: Error) => this.log(`network teardown ${id}: ${e.message}`)),
      ]);
      const exited = this.store.update(id, {
        status: "exited",
        exitCode: code,
        finishedAt,
        pid: 0,
        monitorPid: 0,
        error,
      });
      this.log("container exited", { id, exitCode: code });
      this.emit("exit", id, code);
      return exited;
    });
    if (rec.config.autoRemove) {
      // As Docker's AutoRemove: its anonymous volumes go with it.
      await this.remove(id, true, true).catch((e: Error) => this.log(`auto-remove ${id}: ${e.message}`));
      return;
    }
    const policy = rec.config.restartPolicy;
    if (!policy || this.isUserStopped(id) || this.closed) return;
    const again =
      policy.name === "always" ||
      policy.name === "unless-stopped" ||
      (policy.name === "on-failure" &&
        code !== 0 &&
        (!policy.maximumRetryCount || rec.restartCount < policy.maximumRetryCount));
    if (!again) return;
    // Docker backs off from 100 ms, doubling; a short fixed delay keeps a crash loop cheap enough.
    await sleep(Math.min(100 * 2 ** Math.min(rec.restartCount, 6), 5000));
    const cur = this.store.get(id);
    if (cur?.status !== "exited" || this.isUserStopped(id) || this.closed) return;
    // Counted with the new run, so that no reader sees the new count on the old exit.
    await this.launch(cur, cur.restartCount + 1).catch((e: Error) => this.log(`restart ${id}: ${e.message}`));
  }

  /** Sends `signal` (name or number) to a running container's init. */
  async kill(ref: string, signal: string | number = "SIGKILL"): Promise<void> {
    const rec = this.find(ref);
    if (rec.status !== "running")
      throw new EngineError(
        "INVALID_STATE",
        `Cannot kill container: ${ref}: Container ${rec.id} is not running`,
      );
    const sig = typeof signal === "number" ? signal : parseSignal(signal);
    this.userStopped(rec.id, true);
    await killContainer(this.runtime, rec.id, sig);
    this.emit("kill", rec.id, sig);
    await this.thawAfterSignal(rec.id);
  }

  /**
   * Stops a running container: its stop signal (default SIGTERM), then SIGKILL after `timeout`
   * seconds (default: the container's stopTimeout, else 10). Resolves once it exited; `false`
   * when it was not running.
   */
  async stop(ref: string, timeout?: number): Promise<boolean> {
    const rec = this.find(ref);
    if (rec.status !== "running") return false;
    this.userStopped(rec.id, true);
    const exited = this.waitExit(rec.id);
    const grace = timeout ?? rec.config.stopTimeout ?? 10;
    await killContainer(this.runtime, rec.id, parseSignal(rec.config.stopSignal ?? "SIGTERM")).catch(
      () => {},
    );
    await this.thawAfterSignal(rec.id);
    const timedOut = await Promise.race([exited.then(() => false), sleep(grace * 1000).then(() => true)]);
    if (timedOut) {
      await killContainer(this.runtime, rec.id, 9, true).catch(() => {});
      await this.thawAfterSignal(rec.id);
      await exited;
    }
    this.emit("stop", rec.id);
    return true;
  }

  /** Stops (if running) and starts again. */
  async restart(ref: string, timeout?: number): Promise<ContainerRecord> {
    const rec = this.find(ref);
    await this.stop(rec.id, timeout);
    await this.waitState(rec.id, (r) => r.status !== "running");
    const started = await this.start(rec.id);
    this.emit("restart", rec.id);
    return started;
  }

  /** Resolves with the exit code of the next exit of `id`. */
  private waitExit(id: string): Promise<number> {
    return new Promise((resolve) => {
      const on = (eid: string, code: number) => {
        if (eid !== id) return;
        this.off("exit", on);
        resolve(code);
      };
      this.on("exit", on);
    });
  }

  private async waitState(id: string, ok: (r: ContainerRecord) => boolean): Promise<void> {
    for (;;) {
      const r = this.store.get(id);
      if (!r || ok(r)) return;
      await sleep(20);
    }
  }

  /**
   * Docker's wait: `not-running` resolves at once unless running; `next-exit` at the next exit;
   * `removed` once the container is gone. The status is the real exit code.
   */
  wait(ref: string, condition: WaitCondition = "not-running"): Promise<WaitResult> {
    const rec = this.find(ref);
    const result = (code: number, error = ""): WaitResult => ({ exitCode: code, error: error || null });
    if (condition === "not-running" && rec.status !== "running") {
      return Promise.resolve(result(rec.exitCode, rec.error));
    }
    return new Promise((resolve) => {
      const onExit = (id: string, code: number) => {
        if (id !== rec.id || condition === "removed") return;
        cleanup();
        resolve(result(code, this.store.get(id)?.error ?? ""));
      };
      const onRemoved = (id: string, code: number) => {
        if (id !== rec.id) return;
        cleanup();
        resolve(result(code));
      };
      const cleanup = () => {
        this.off("exit", onExit);
        this.off("removed", onRemoved);
      };
      this.on("exit", onExit);
      this.on("removed", onRemoved);
    });
  }

  /**
   * Removes a container: `INVALID_STATE` (Docker's 409) when it runs, unless `force`, which
   * kills it first. The snapshot, files and record all go; with `anonymousVolumes` (`rm -v`), its
   * anonymous volumes too (named ones always stay).
   */
  async remove(ref: string, force = false, anonymousVolumes = false): Promise<void> {
    const rec = this.find(ref);
    if (anonymousVolumes) {
      await this.remove(rec.id, force);
      for (const m of rec.config.mounts ?? []) {
        if (m.type !== "volume" || !this.volumes.exists(m.source)) continue;
        if (!(ANONYMOUS_LABEL in this.volumes.inspect(m.source).Labels)) continue;
        await this.removeVolume(m.source).catch((e: Error) => this.log(`rm -v ${m.source}: ${e.message}`));
      }
      return;
    }
    if (rec.status === "running") {
      if (!force)
        throw new EngineError(
          "INVALID_STATE",
          `You cannot remove a running container ${rec.id}. Stop the container before attempting removal or force remove`,
        );
      this.userStopped(rec.id, true);
      const exited = this.waitExit(rec.id);
      await killContainer(this.runtime, rec.id, 9, true).catch(() => {});
      await this.thawAfterSignal(rec.id);
      this.emit("kill", rec.id, 9);
      await exited;
      if (!this.store.get(rec.id)) return; // auto-removed meanwhile
    }
    // One removal at a time: `rm -f` of an `--rm` container meets the auto-removal its kill set off.
    const pending = this.removals.get(rec.id);
    if (pending) return pending;
    if (this.store.get(rec.id)?.status === "removing" && !force) return;
    const removal = this.removeNow(rec).finally(() => this.removals.delete(rec.id));
    this.removals.set(rec.id, removal);
    return removal;
  }

  /** The removal itself (see {@link ContainerService.remove}). */
  private removeNow(rec: ContainerRecord): Promise<void> {
    return this.idle.during(() => this.removeRecord(rec));
  }

  /** The removal's steps (see {@link ContainerService.removeNow}). */
  private async removeRecord(rec: ContainerRecord): Promise<void> {
    this.store.update(rec.id, { status: "removing" });
    // Independent steps side by side (after an exit, the first two found nothing left to do):
    // the processes' end first, then the mounts they could have kept busy.
    await Promise.all([
      deleteContainer(this.runtime, rec.id, true).catch(() => {}),
      this.networks
        .teardown(rec.id)
        .catch((e: Error) => this.log(`network teardown ${rec.id}: ${e.message}`)),
    ]);
    this.networks.forget(rec.id);
    const [snapshot, shm] = await Promise.allSettled([
      this.snapshots.remove(rec.id),
      unmountShareableShm(this.dir(rec.id)),
    ]);
    for (const r of [snapshot, shm]) if (r.status === "rejected") throw r.reason;
    // On disk (its log among them): out of the way at once, deleted in the background.
    this.snapshots.trash.discard(this.dir(rec.id));
    // On the run-time tmpfs: a few small files, quicker here than trips through the thread pool.
    rmSync(this.runDir(rec.id), { recursive: true, force: true });
    rmSync(this.attachSocket(rec.id), { force: true });
    this.store.delete(rec.id);
    this.stopped.delete(rec.id);
    this.log("container removed", { id: rec.id });
    this.emit("removed", rec.id, rec.exitCode);
  }

  /** Records (in memory and on disk, so it survives pierd restarts) whether the user stopped `id`. */
  private userStopped(id: string, stopped: boolean): void {
    const file = join(this.dir(id), "user-stopped");
    if (stopped) {
      this.stopped.add(id);
      if (existsSync(this.dir(id))) writeFileSync(file, "");
    } else {
      this.stopped.delete(id);
      rmSync(file, { force: true });
    }
  }

  /** True when the user stopped `id` (restart policies other than `always` leave it down). */
  isUserStopped(id: string): boolean {
    return this.stopped.has(id) || existsSync(join(this.dir(id), "user-stopped"));
  }

  /** True while running container `id` is frozen (the runtime's state says `paused`). */
  isPaused(id: string): boolean {
    return existsSync(join(this.runtime.store.dir(id), "paused"));
  }

  /** Freezes a running container (`INVALID_STATE` unless running and not paused yet). */
  async pause(ref: string): Promise<void> {
    const rec = this.find(ref);
    if (rec.status !== "running")
      throw new EngineError("INVALID_STATE", `Container ${rec.id} is not running`);
    if (this.isPaused(rec.id))
      throw new EngineError("INVALID_STATE", `Container ${rec.id} is already paused`);
    await pauseContainer(this.runtime, rec.id);
    this.emit("pause", rec.id);
  }

  /** Thaws a paused container (`INVALID_STATE` unless paused). */
  async unpause(ref: string): Promise<void> {
    const rec = this.find(ref);
    if (rec.status !== "running" || !this.isPaused(rec.id))
      throw new EngineError("INVALID_STATE", `Container ${rec.id} is not paused`);
    await resumeContainer(this.runtime, rec.id);
    this.emit("unpause", rec.id);
  }

  /** A frozen container cannot act on a signal: thaw it once the signal is queued. */
  private async thawAfterSignal(id: string): Promise<void> {
    if (this.isPaused(id))
      await resumeContainer(this.runtime, id).catch((e: Error) => this.log(`thaw ${id}: ${e.message}`));
  }

  /** Names of the containers that mount the named volume `name`. */
  volumeUsers(name: string): string[] {
    return this.store
      .list()
      .filter((r) => r.config.mounts?.some((m) => m.type === "volume" && m.source === name))
      .map((r) => r.name);
  }

  /** Removes a named volume; `INVALID_STATE` (409) while any container uses it. */
  async removeVolume(name: string): Promise<void> {
    await this.volumes.remove(name, this.volumeUsers(name));
  }

  /**
   * After a daemon start: follows containers whose monitors still run, records the exit code of
   * those that exited meanwhile, finishes interrupted removals and applies restart policies.
   */
  async restore(): Promise<void> {
    for (const rec of this.store.list()) {
      if (rec.status === "created" && !existsSync(join(this.dir(rec.id), "config.json"))) {
        // pierd died inside create() (config.json is its last step): undo it as create's own failure would.
        this.log("removing a container whose creation was interrupted", { id: rec.id });
        await this.remove(rec.id, true, true).catch((e: Error) =>
          this.log(`restore remove ${rec.id}: ${e.message}`),
        );
      } else if (rec.status === "removing") {
        await this.remove(rec.id, true).catch((e: Error) =>
          this.log(`restore remove ${rec.id}: ${e.message}`),
        );
      } else if (rec.status === "running") {
        const exit = readExitFile(this.exitFile(rec.id));
        if (exit) await this.onExit(rec.id, exit.exitCode, exit.finishedAt);
        else if (processAlive(rec.monitorPid)) this.watch(rec.id);
        else await this.onExit(rec.id, 255, now(), "the container's monitor died while pierd was down");
      } else if (rec.status === "exited" && !rec.error && restartOnBoot(rec, this.isUserStopped(rec.id))) {
        await this.launch(rec).catch((e: Error) => this.log(`restart ${rec.id}: ${e.message}`));
      }
    }
    // Attachments of containers removed while pierd was down (namespaces, veths, rules) go too.
    const running = this.store.list().filter((r) => r.status === "running");
    await this.networks.reconcile(new Set(running.map((r) => r.id)));
  }

  /** What the network service needs to know of a container. */
  private networkRequest(id: string, name: string, c: ContainerConfig): ContainerNetworkRequest {
    return {
      id,
      name,
      dir: this.dir(id),
      ...(c.networkMode !== undefined ? { mode: c.networkMode } : {}),
      ...(c.cniNetwork ? { cni: c.cniNetwork } : {}),
      ...(c.hostname !== undefined ? { hostname: c.hostname } : {}),
      ...(c.ports ? { ports: c.ports } : {}),
      ...(c.extraHosts ? { extraHosts: c.extraHosts } : {}),
      ...(c.dns ? { dns: c.dns } : {}),
      ...(c.networkAliases ? { aliases: c.networkAliases } : {}),
      ...(c.ipv4Address ? { ip: c.ipv4Address } : {}),
      ...(c.networkMode?.startsWith("container:") ? { join: this.joinTarget(c.networkMode) } : {}),
    };
  }

  /** Connects container `ref` to network `network` (id or name), with further `aliases` there. */
  async connect(ref: string, network: string, aliases: readonly string[] = []): Promise<void> {
    await this.networks.connect(this.connectRequest(ref), network, aliases);
  }

  /** Disconnects container `ref` from network `network` (id or name). */
  async disconnect(ref: string, network: string): Promise<void> {
    await this.networks.disconnect(this.connectRequest(ref), network);
  }

  private connectRequest(ref: string): ContainerNetworkRequest {
    const rec = this.find(ref);
    return {
      id: rec.id,
      name: rec.name,
      dir: this.dir(rec.id),
      ...(rec.config.networkMode !== undefined ? { mode: rec.config.networkMode } : {}),
    };
  }

  /** The container whose namespace `container:<ref>` joins (`NOT_FOUND` when there is none). */
  private joinTarget(mode: string): { id: string; dir: string } {
    const target = this.find(mode.slice("container:".length));
    return { id: target.id, dir: this.dir(target.id) };
  }

  /** Names of the containers configured for network `ref` (what keeps `network rm` from removing it). */
  networkUsers(ref: string): string[] {
    const def = this.networks.find(ref);
    const connected = new Set(this.networks.connectedTo(def.id));
    return this.store
      .list()
      .filter((r) => {
        if (connected.has(r.id)) return true;
        const mode = r.config.networkMode;
        if (mode === "host" || mode === "none") return false;
        if (mode === undefined || mode === "" || mode === "default") return def.name === "bridge";
        return mode === def.name || mode === def.id || (mode.length >= 12 && def.id.startsWith(mode));
      })
      .map((r) => r.name);
  }

  /**
   * The command line that runs `cmd` inside running container `ref` through the runtime's
   * `exec` (its stdio is the caller's to connect; with `consoleSocket`, a terminal whose master
   * is sent there). Throws `INVALID_STATE` unless it runs.
   */
  execCommand(
    ref: string,
    cmd: readonly string[],
    opts: {
      env?: readonly string[];
      user?: string;
      workingDir?: string;
      consoleSocket?: string;
      /** The runtime's JSON log (its error, when the process could not be started). */
      logFile?: string;
      /** Where the runtime writes the process's pid (to kill it, say when a deadline passes). */
      pidFile?: string;
    } = {},
  ): string[] {
    const rec = this.find(ref);
    if (rec.status !== "running")
      throw new EngineError("INVALID_STATE", `Container ${rec.id} is not running`);
    if (cmd.length === 0) throw new EngineError("INVALID_ARGUMENT", "No exec command specified");
    // The runtime's front end runs exec in the resident runtime service: no Node.js start per exec.
    const frontEnd = runtimeFrontEnd();
    const runtime = frontEnd ? [frontEnd] : [process.execPath, RUNTIME_MAIN];
    const args = [...runtime, "--root", join(this.execRoot, "runtime")];
    if (opts.logFile) args.push("--log", opts.logFile, "--log-format", "json");
    args.push("exec");
    for (const e of opts.env ?? []) args.push("--env", e);
    if (opts.user) args.push("--user", opts.user);
    if (opts.workingDir) args.push("--cwd", opts.workingDir);
    if (opts.consoleSocket) args.push("--tty", "--console-socket", opts.consoleSocket);
    if (opts.pidFile) args.push("--pid-file", opts.pidFile);
    return [...args, rec.id, ...cmd];
  }

  /**
   * Calls `notify` when container `id` exits or is removed; returns the unsubscribe (a log
   * follower's `wake`, see `LogQuery`).
   */
  onEnd(id: string, notify: () => void): () => void {
    const h = (eid: string) => {
      if (eid === id) notify();
    };
    this.on("exit", h);
    this.on("removed", h);
    return () => {
      this.off("exit", h);
      this.off("removed", h);
    };
  }

  /** Byte size of the log now (attach reads from here on). */
  logSize(id: string): number {
    try {
      return statSync(this.logPath(id)).size;
    } catch {
      return 0;
    }
  }

  /**
   * Freezes running container `id` while the host reads or writes its files (`docker cp`,
   * export, commit), so that none of its processes can swap a directory for a symlink between a
   * path's resolution and its use; resolves with the thaw. Holds nest: the container thaws when
   * the last hold ends, and never when it was paused before the first. A container that does not
   * run needs no freeze (its thaw does nothing).
   */
  async hold(id: string): Promise<() => Promise<void>> {
    const rec = this.store.get(id);
    if (rec?.status !== "running") return async () => {};
    let h = this.holds.get(id);
    if (!h) {
      const thaw = !this.isPaused(id);
      h = { count: 0, thaw, frozen: thaw ? pauseContainer(this.runtime, id) : Promise.resolve() };
      this.holds.set(id, h);
    }
    h.count++;
    const held = h;
    try {
      await held.frozen;
    } catch (err) {
      held.count--;
      if (held.count === 0) this.holds.delete(id);
      throw err;
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      if (--held.count > 0) return;
      this.holds.delete(id);
      if (held.thaw && this.store.get(id)?.status === "running")
        await resumeContainer(this.runtime, id).catch((e: Error) => this.log(`thaw ${id}: ${e.message}`));
    };
  }

  /**
   * Renames container `ref` to `name` (Docker's `rename`): `NAME_CONFLICT` when taken, the name
   * checked as at create. Resolves with the old name.
   */
  rename(ref: string, name: string): string {
    const rec = this.find(ref);
    const newName = checkName(name);
    this.store.rename(rec.id, newName);
    this.emit("rename", rec.id, rec.name);
    return rec.name;
  }

  /** Stops following containers (they keep running under their monitors) and closes the database. */
  close(): void {
    this.closed = true;
    this.idle.close();
    discardSpareMonitor();
    this.store.close();
  }
}

/** The last error of a runtime's JSON log (`{"level":"error","msg":…}` lines); "" when none. */
function runtimeLogError(path: string): string {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return "";
  }
  let last = "";
  for (const line of text.split("\n")) {
    try {
      const v = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if (v.level === "error" && typeof v.msg === "string") last = v.msg;
    } catch {}
  }
  return last;
}

function now(): string {
  return new Date().toISOString();
}

/**
 * Whether an exited container starts again when pierd starts, as Docker decides: `always` does,
 * `unless-stopped` unless the user stopped it, `on-failure[:N]` after a failure with retries left.
 * Pure.
 */
export function restartOnBoot(
  rec: Pick<ContainerRecord, "config" | "exitCode" | "restartCount">,
  userStopped: boolean,
): boolean {
  const p = rec.config.restartPolicy;
  if (!p) return false;
  if (p.name === "always") return true;
  if (p.name === "unless-stopped") return !userStopped;
  if (p.name === "on-failure")
    return (
      !userStopped && rec.exitCode !== 0 && (!p.maximumRetryCount || rec.restartCount < p.maximumRetryCount)
    );
  return false;
}

/** Reads a text file of a rootfs without following any symlink out of it; `undefined` if absent. */
