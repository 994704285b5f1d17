/**
 * CRI containers (CreateContainer, StartContainer, StopContainer, RemoveContainer,
 * ListContainers, ContainerStatus, UpdateContainerResources, ReopenContainerLog, ExecSync):
 * engine containers that join their sandbox's network, IPC and UTS namespaces (and its PID
 * namespace for a pod that shares one, or a target container's), log to the CRI log path in the
 * CRI format through their monitor, and report Kubernetes' states and reasons.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { constants } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ContainerCreateInput } from "../containers/config.js";
import { type HostFacts, readHostFacts } from "../containers/host-facts.js";
import type { ContainerRecord } from "../containers/store.js";
import type { Engine } from "../engine.js";
import { CriError, isNotFound } from "./error.js";
import { bool, msg, msgs, nanos, num, refuseUnapplied, str, strMap, strs } from "./fields.js";
import type { Message } from "./grpc.js";
import {
  type CriContainerState,
  type CriSandboxState,
  checkId,
  containerState,
  engineLabels,
  matchesLabels,
} from "./labels.js";
import { readBoundedFile } from "./read-bounded.js";
import { cgroupHost, mapResources } from "./resources.js";
import type { Sandboxes } from "./sandbox.js";
import { checkUserNamespace, MAX_SECCOMP_PROFILE, mapSecurityContext } from "./security-context.js";

/** The ContainerConfig fields pier applies; any other set field is refused by name. */
const APPLIED = new Set([
  "config.metadata",
  "config.image.image",
  "config.image.user_specified_image",
  "config.image.annotations",
  "config.command",
  "config.args",
  "config.working_dir",
  "config.envs",
  "config.mounts",
  "config.labels",
  "config.annotations",
  "config.log_path",
  "config.stdin",
  "config.stdin_once",
  "config.tty",
  // Every field of both is mapped (security-context.ts, resources.ts), refusals there by name.
  "config.linux.security_context",
  "config.linux.resources",
]);

/** The fields of one `Mount` that pier applies. */
const MOUNT_APPLIED = new Set([
  "mount.container_path",
  "mount.host_path",
  "mount.readonly",
  "mount.propagation",
]);

/** The largest output ExecSync collects per stream (the whole response must fit in a message). */
export const EXEC_SYNC_MAX_OUTPUT = 4 * 1024 * 1024;

/** A container's CRI state name from the engine's status. Pure. */
export function criState(rec: Pick<ContainerRecord, "status" | "startedAt" | "finishedAt">): string {
  if (rec.status === "running") return "CONTAINER_RUNNING";
  if (rec.status === "created") return "CONTAINER_CREATED";
  if (rec.status === "exited") return "CONTAINER_EXITED";
  return "CONTAINER_UNKNOWN";
}

/**
 * Kubernetes' reason for an exited container, as containerd gives it: `Completed` for status 0,
 * `StartError` when it never ran, `Error` otherwise. Pure.
 */
export function exitReason(rec: Pick<ContainerRecord, "status" | "exitCode" | "error">): string {
  if (rec.status !== "exited") return "";
  if (rec.error) return "StartError";
  return rec.exitCode === 0 ? "Completed" : "Error";
}

/** The engine name of a pod's container (`k8s_<container>_<pod>_<namespace>_<uid>_<attempt>`). Pure. */
export function containerName(
  name: string,
  pod: { name: string; namespace: string; uid: string },
  attempt: number,
): string {
  return `k8s_${name}_${pod.name}_${pod.namespace}_${pod.uid}_${attempt}`;
}

/** The CRI's containers on one engine. */
export class CriContainers {
  constructor(
    private readonly engine: Engine,
    private readonly sandboxes: Sandboxes,
    private readonly host: () => Pick<HostFacts, "appArmor"> = readHostFacts,
  ) {}

  /** The CRI container `id` (full or prefix) with its state; `NOT_FOUND` otherwise. */
  find(id: string): { rec: ContainerRecord; state: CriContainerState } {
    const rec = this.engine.containers.find(checkId(id, "container"));
    const state = containerState(rec);
    if (!state) throw new CriError("NOT_FOUND", `container ${id} not found`);
    return { rec, state };
  }

  /** CreateContainer: an engine container in the pod's namespaces; nothing stays on failure. */
  async create(req: Message, signal: AbortSignal): Promise<Message> {
    const { rec: sandbox, state: pod } = this.sandboxes.find(str(req, "pod_sandbox_id"));
    const config = msg(req, "config");
    if (!config) throw new CriError("INVALID_ARGUMENT", "config is required");
    refuseUnapplied(config, "config", APPLIED);
    const meta = msg(config, "metadata");
    const name = str(meta, "name");
    if (!name) throw new CriError("INVALID_ARGUMENT", "config.metadata.name is required");
    const image = str(msg(config, "image"), "image");
    if (!image) throw new CriError("INVALID_ARGUMENT", "config.image.image is required");
    const sc = msg(msg(config, "linux"), "security_context");
    const field = "config.linux.security_context";
    const mapped = mapSecurityContext(sc, {
      field,
      appArmor: this.host().appArmor,
      readProfile: (path) => readBoundedFile(path, MAX_SECCOMP_PROFILE),
    });
    if (mapped.security.privileged && !pod.privileged)
      throw new CriError(
        "INVALID_ARGUMENT",
        `${field}.privileged: the pod sandbox was not created privileged (its security_context.privileged)`,
      );
    const namespaces = this.namespaceModes(msg(sc, "namespace_options"), sandbox.id, pod);
    const resources = mapResources(
      msg(msg(config, "linux"), "resources"),
      "config.linux.resources",
      cgroupHost(),
    );
    const logPath = str(config, "log_path");
    if (logPath && (isAbsolute(logPath) || logPath.split("/").includes("..")))
      throw new CriError(
        "INVALID_ARGUMENT",
        `config.log_path ${logPath} must be relative to the pod's log_directory, without '..'`,
      );
    if (logPath && !pod.logDirectory)
      throw new CriError("INVALID_ARGUMENT", "config.log_path needs the pod's log_directory");
    const env = msgs(config, "envs").map((kv) => {
      const key = str(kv, "key");
      if (!key || key.includes("="))
        throw new CriError("INVALID_ARGUMENT", `config.envs: invalid key ${JSON.stringify(key)}`);
      return `${key}=${str(kv, "value")}`;
    });
    const mounts = msgs(config, "mounts").map((m) => {
      refuseUnapplied(m, "mount", MOUNT_APPLIED);
      const propagation = String(m.propagation ?? "PROPAGATION_PRIVATE");
      if (propagation !== "PROPAGATION_PRIVATE")
        throw new CriError(
          "INVALID_ARGUMENT",
          `config.mounts.propagation ${propagation} is not supported by pier (only PROPAGATION_PRIVATE)`,
        );
      return {
        type: "bind",
        source: str(m, "host_path"),
        target: str(m, "container_path"),
        readOnly: bool(m, "readonly"),
      };
    });
    const state: CriContainerState = {
      kind: "container",
      sandboxId: sandbox.id,
      metadata: { name, attempt: num(meta, "attempt") },
      labels: strMap(config, "labels"),
      annotations: strMap(config, "annotations"),
      image,
      logPath: logPath ? join(pod.logDirectory, logPath) : "",
    };
    const command = strs(config, "command");
    const args = strs(config, "args");
    const hostNetwork = pod.network === "NODE";
    const input: ContainerCreateInput = {
      image,
      ...(command.length ? { entrypoint: command } : {}),
      ...(args.length ? { cmd: args } : {}),
      ...(env.length ? { env } : {}),
      ...(str(config, "working_dir") ? { workingDir: str(config, "working_dir") } : {}),
      ...(mapped.user ? { user: mapped.user } : {}),
      ...(mounts.length ? { mounts } : {}),
      tty: bool(config, "tty"),
      openStdin: bool(config, "stdin"),
      stdinOnce: bool(config, "stdin_once"),
      networkMode: hostNetwork ? "host" : `container:${sandbox.id}`,
      security: { ...mapped.security, ...namespaces },
      ...(resources ? { resources } : {}),
      ...(pod.cgroupParent ? { cgroupParent: pod.cgroupParent } : {}),
      ...(state.logPath ? { criLogPath: state.logPath } : {}),
      labels: engineLabels(state, pod.metadata),
    };
    const rec = await this.engine.containers.createFrom(
      input,
      containerName(name, pod.metadata, state.metadata.attempt),
      signal,
    );
    return { container_id: rec.id };
  }

  /**
   * The engine's namespace modes of a pod's container: the sandbox's network (by the network
   * mode), IPC and UTS namespaces joined at each start, or the node's; PID per
   * `namespace_options.pid` (POD: the sandbox's, CONTAINER: its own, NODE, TARGET: another
   * container's of the pod).
   */
  private namespaceModes(
    ns: Message | undefined,
    sandboxId: string,
    pod: CriSandboxState,
  ): { ipcMode: string; pidMode?: string; utsMode?: string } {
    const field = "config.linux.security_context.namespace_options";
    checkUserNamespace(ns, field);
    for (const k of ["network", "ipc"] as const) {
      const m = ns?.[k];
      if (m !== undefined && m !== pod[k] && !(m === "POD" && pod[k] !== "NODE"))
        throw new CriError(
          "INVALID_ARGUMENT",
          `${field}.${k}: ${String(m)} differs from the pod's ${pod[k]}`,
        );
    }
    const pidMode = String(ns?.pid ?? "POD");
    const target = str(ns, "target_id");
    if (target && pidMode !== "TARGET")
      throw new CriError("INVALID_ARGUMENT", `${field}.target_id is only for the TARGET pid mode`);
    let pid: string | undefined;
    if (pidMode === "POD") pid = pod.pid === "NODE" ? "host" : `container:${sandboxId}`;
    else if (pidMode === "NODE") {
      if (pod.pid !== "NODE")
        throw new CriError("INVALID_ARGUMENT", `${field}.pid: NODE differs from the pod's ${pod.pid}`);
      pid = "host";
    } else if (pidMode === "TARGET") {
      let t: ReturnType<CriContainers["find"]>;
      try {
        t = this.find(target);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        throw new CriError("INVALID_ARGUMENT", `${field}.target_id ${target}: no such container`);
      }
      if (t.state.sandboxId !== sandboxId)
        throw new CriError("INVALID_ARGUMENT", `${field}.target_id ${target} is not in pod ${sandboxId}`);
      pid = `container:${t.rec.id}`;
    } else if (pidMode !== "CONTAINER")
      throw new CriError("INVALID_ARGUMENT", `${field}.pid: ${pidMode} is not a namespace mode`);
    return {
      ipcMode: pod.ipc === "NODE" ? "host" : `container:${sandboxId}`,
      ...(pid ? { pidMode: pid } : {}),
      // On the node's network the UTS namespace is the node's too (the engine's host network).
      ...(pod.network === "NODE" ? {} : { utsMode: `container:${sandboxId}` }),
    };
  }

  /** StartContainer (the CRI log's directory is made when missing). */
  async start(req: Message): Promise<Message> {
    const { rec, state } = this.find(str(req, "container_id"));
    if (state.logPath) mkdirSync(dirname(state.logPath), { recursive: true, mode: 0o755 });
    await this.engine.containers.start(rec.id);
    return {};
  }

  /** StopContainer: the stop signal, SIGKILL after `timeout` seconds; gone or stopped is no error. */
  async stop(req: Message): Promise<Message> {
    try {
      const { rec } = this.find(str(req, "container_id"));
      await this.engine.containers.stop(rec.id, Math.max(0, num(req, "timeout")));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return {};
  }

  /** RemoveContainer (a running one is killed first); gone already is no error. */
  async remove(req: Message): Promise<Message> {
    try {
      const { rec } = this.find(str(req, "container_id"));
      await this.engine.containers.remove(rec.id, true);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return {};
  }

  private async imageId(rec: ContainerRecord): Promise<string> {
    return this.engine.images.idOf(rec.imageId);
  }

  /** The `Container` message of ListContainers. */
  private async listed(rec: ContainerRecord, state: CriContainerState): Promise<Message> {
    const imageId = await this.imageId(rec);
    return {
      id: rec.id,
      pod_sandbox_id: state.sandboxId,
      metadata: state.metadata,
      image: { image: state.image },
      image_ref: imageId,
      image_id: imageId,
      state: criState(rec),
      created_at: nanos(rec.createdAt),
      labels: state.labels,
      annotations: state.annotations,
    };
  }

  /** ListContainers with its filter (id or prefix, state, sandbox, labels). */
  async list(req: Message): Promise<Message> {
    const filter = msg(req, "filter");
    const id = str(filter, "id");
    const pod = str(filter, "pod_sandbox_id");
    const wantState = msg(filter, "state")
      ? String(msg(filter, "state")?.state ?? "CONTAINER_CREATED")
      : undefined;
    const selector = strMap(filter, "label_selector");
    const out: Message[] = [];
    for (const rec of this.engine.containers.list()) {
      const state = containerState(rec);
      if (!state) continue;
      if (id && !rec.id.startsWith(id)) continue;
      if (pod && !state.sandboxId.startsWith(pod)) continue;
      if (wantState !== undefined && criState(rec) !== wantState) continue;
      if (!matchesLabels(state.labels, selector)) continue;
      out.push(await this.listed(rec, state));
    }
    return { containers: out };
  }

  /** The `ContainerStatus` message of a container. */
  async statusOf(rec: ContainerRecord, state: CriContainerState): Promise<Message> {
    const imageId = await this.imageId(rec);
    const exited = rec.status === "exited";
    return {
      id: rec.id,
      metadata: state.metadata,
      state: criState(rec),
      created_at: nanos(rec.createdAt),
      started_at: rec.status === "created" ? "0" : nanos(rec.startedAt),
      finished_at: exited ? nanos(rec.finishedAt) : "0",
      exit_code: exited ? rec.exitCode : 0,
      image: { image: state.image },
      image_ref: imageId,
      image_id: imageId,
      reason: exitReason(rec),
      message: exited ? rec.error : "",
      labels: state.labels,
      annotations: state.annotations,
      mounts: (rec.config.mounts ?? [])
        .filter((m) => m.type === "bind")
        .map((m) => ({ container_path: m.target, host_path: m.source, readonly: m.readOnly === true })),
      log_path: state.logPath,
    };
  }

  /** ContainerStatus; with `verbose`, `info.info` is JSON of the engine's view (pid, config). */
  async status(req: Message): Promise<Message> {
    const { rec, state } = this.find(str(req, "container_id"));
    const out: Message = { status: await this.statusOf(rec, state) };
    if (bool(req, "verbose"))
      out.info = {
        info: JSON.stringify({
          pid: rec.pid,
          engineName: rec.name,
          sandboxId: state.sandboxId,
          config: rec.config,
        }),
      };
    return out;
  }

  /**
   * UpdateContainerResources: the new limits through the engine's update (`docker update`'s
   * path: the runtime's `update` on the running cgroup, and the config for later starts). The
   * OOM score belongs to the running process: it may only be given again unchanged.
   */
  async updateResources(req: Message): Promise<Message> {
    const { rec } = this.find(str(req, "container_id"));
    refuseUnapplied(
      req,
      "request",
      new Set(["request.container_id", "request.linux", "request.annotations"]),
    );
    const resources = mapResources(msg(req, "linux"), "linux", cgroupHost());
    if (!resources) return {};
    if (resources.oomScoreAdj !== undefined) {
      if (resources.oomScoreAdj !== (rec.config.resources?.oomScoreAdj ?? 0))
        throw new CriError(
          "INVALID_ARGUMENT",
          `linux.oom_score_adj: ${String(resources.oomScoreAdj)} differs from the container's ${rec.config.resources?.oomScoreAdj ?? 0} and cannot change after create`,
        );
      delete resources.oomScoreAdj;
    }
    await this.engine.containers.update(rec.id, { resources });
    return {};
  }

  /**
   * CheckpointContainer: the running container dumped by the engine's checkpoint code and
   * written at `location` as the uncompressed podman archive CRI-O and containerd write; the
   * container keeps running (Kubernetes' forensic checkpoints). The file appears whole or not
   * at all; `timeout` seconds (0: none) then `DEADLINE_EXCEEDED`.
   */
  async checkpoint(req: Message, signal: AbortSignal): Promise<Message> {
    const { rec } = this.find(str(req, "container_id"));
    const location = str(req, "location");
    if (!location.startsWith("/") || location.split("/").includes(".."))
      throw new CriError(
        "INVALID_ARGUMENT",
        `location ${JSON.stringify(location)}: want an absolute path without '..'`,
      );
    const timeout = num(req, "timeout");
    const abort = new AbortController();
    const onAbort = () => abort.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const timer =
      timeout > 0
        ? setTimeout(
            () =>
              abort.abort(
                new CriError("DEADLINE_EXCEEDED", `CheckpointContainer: timed out after ${timeout}s`),
              ),
            timeout * 1000,
          )
        : undefined;
    const partial = `${location}.${randomBytes(4).toString("hex")}.partial`;
    try {
      const packed = await this.engine.checkpoints.createArchive(rec.id, "none", {
        leaveRunning: true,
        signal: abort.signal,
      });
      abort.signal.addEventListener("abort", () => packed.abort(), { once: true });
      await Promise.all([pipeline(packed.stream, createWriteStream(partial, { mode: 0o600 })), packed.done]);
      if (abort.signal.aborted) throw abort.signal.reason;
      renameSync(partial, location);
    } catch (err) {
      rmSync(partial, { force: true });
      if (abort.signal.reason instanceof CriError) throw abort.signal.reason;
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
    return {};
  }

  /** ReopenContainerLog: the monitor reopens the CRI log file (the kubelet rotated it). */
  async reopenLog(req: Message): Promise<Message> {
    const { rec } = this.find(str(req, "container_id"));
    this.engine.containers.reopenCriLog(rec.id);
    return {};
  }

  /**
   * ExecSync: runs `cmd` in the running container and collects its output (each stream bounded
   * by {@link EXEC_SYNC_MAX_OUTPUT}: past it the process is killed and `RESOURCE_EXHAUSTED`
   * answered); `timeout` seconds (0: none) then `DEADLINE_EXCEEDED`.
   */
  async execSync(req: Message, signal: AbortSignal): Promise<Message> {
    const { rec } = this.find(str(req, "container_id"));
    const cmd = strs(req, "cmd");
    const pidFile = join(this.engine.containers.execRoot, "a", `s${randomBytes(8).toString("hex")}.pid`);
    mkdirSync(dirname(pidFile), { recursive: true, mode: 0o700 });
    const argv = this.engine.containers.execCommand(rec.id, cmd, { pidFile });
    const timeout = num(req, "timeout");
    return new Promise<Message>((resolve, reject) => {
      const child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const size = { out: 0, err: 0 };
      let failure: CriError | undefined;
      // The process in the container and the runtime's: the call answers at once, and what
      // the process left behind (a background child holding its output) no longer matters.
      const kill = (why: CriError) => {
        if (failure) return;
        failure = why;
        try {
          const pid = Number(readFileSync(pidFile, "utf8"));
          if (pid > 0) process.kill(pid, "SIGKILL");
        } catch {}
        child.kill("SIGKILL");
        child.stdout.destroy();
        child.stderr.destroy();
      };
      child.stdout.on("data", (d: Buffer) => {
        size.out += d.length;
        if (size.out > EXEC_SYNC_MAX_OUTPUT)
          kill(new CriError("RESOURCE_EXHAUSTED", `ExecSync: stdout exceeds ${EXEC_SYNC_MAX_OUTPUT} bytes`));
        else out.push(d);
      });
      child.stderr.on("data", (d: Buffer) => {
        size.err += d.length;
        if (size.err > EXEC_SYNC_MAX_OUTPUT)
          kill(new CriError("RESOURCE_EXHAUSTED", `ExecSync: stderr exceeds ${EXEC_SYNC_MAX_OUTPUT} bytes`));
        else err.push(d);
      });
      const timer =
        timeout > 0
          ? setTimeout(
              () => kill(new CriError("DEADLINE_EXCEEDED", `ExecSync: command timed out after ${timeout}s`)),
              timeout * 1000,
            )
          : undefined;
      const onAbort = () => kill(new CriError("DEADLINE_EXCEEDED", "ExecSync: the call was cancelled"));
      signal.addEventListener("abort", onAbort, { once: true });
      child.on("error", (e) => kill(new CriError("FAILED_PRECONDITION", `ExecSync: ${e.message}`)));
      child.on("close", (code, sig) => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        rmSync(pidFile, { force: true });
        if (failure) return reject(failure);
        resolve({
          stdout: Buffer.concat(out),
          stderr: Buffer.concat(err),
          exit_code: code ?? (sig ? 128 + (constants.signals[sig] ?? 0) : 255),
        });
      });
    });
  }
}
