/**
 * CRI pod sandboxes (RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus,
 * ListPodSandbox): a sandbox is an engine container running pier's pause process that holds
 * the pod's network (pier's default bridge network through its CNI plugins, with the pod's
 * hostname, DNS and hostPorts), IPC and UTS namespaces — and its PID namespace for pods that
 * share one. The pod's containers join them (see `containers.ts`).
 */
import { checkCgroupParent as checkEngineCgroupParent } from "../containers/config.js";
import { type HostFacts, readHostFacts } from "../containers/host-facts.js";
import type { ContainerRecord } from "../containers/store.js";
import type { Engine } from "../engine.js";
import { DEFAULT_CNI_CONF_DIR, loadCniConfig } from "../network/cni-config-dir.js";
import type { CniConflist } from "../network/conflist.js";
import { CriError, isNotFound } from "./error.js";
import { bool, msg, msgs, nanos, num, refuseUnapplied, str, strMap, strs } from "./fields.js";
import type { Message } from "./grpc.js";
import {
  type CriSandboxState,
  checkId,
  containerState,
  engineLabels,
  matchesLabels,
  type NamespaceMode,
  type PodMetadata,
  SANDBOX_ID_LABEL,
  sandboxState,
} from "./labels.js";
import { ensurePauseImage } from "./pause-image.js";
import { readBoundedFile } from "./read-bounded.js";
import { cgroupHost, mapResources } from "./resources.js";
import { checkUserNamespace, MAX_SECCOMP_PROFILE, mapSecurityContext } from "./security-context.js";

/** The PodSandboxConfig fields pier applies; any other set field is refused by name. */
const APPLIED = new Set([
  "config.metadata",
  "config.hostname",
  "config.log_directory",
  "config.dns_config",
  "config.port_mappings",
  "config.labels",
  "config.annotations",
  "config.linux.sysctls",
  "config.linux.cgroup_parent",
  // Every field of these is mapped (security-context.ts, resources.ts), refusals there by name.
  "config.linux.security_context",
  "config.linux.overhead",
  "config.linux.resources",
]);

/** How the kubelet names cgroups: the driver pier reports in RuntimeConfig. */
export type CgroupDriver = "cgroupfs" | "systemd";

/**
 * Checks a pod's `cgroup_parent` against the cgroup driver pier reports: a cgroupfs path
 * (`/kubepods/burstable/pod<uid>`) for `cgroupfs`, a slice name (`kubepods-burstable-pod<uid>.slice`)
 * for `systemd`. Pure.
 */
export function checkCgroupParent(parent: string, driver: CgroupDriver): void {
  const field = "config.linux.cgroup_parent";
  const slice = parent.endsWith(".slice") && !parent.includes("/");
  if (driver === "systemd" && !slice)
    throw new CriError(
      "INVALID_ARGUMENT",
      `${field} ${JSON.stringify(parent)}: the cgroup driver is systemd (RuntimeConfig): want a slice name like kubepods-burstable-pod<uid>.slice`,
    );
  if (driver === "cgroupfs" && !parent.startsWith("/"))
    throw new CriError(
      "INVALID_ARGUMENT",
      `${field} ${JSON.stringify(parent)}: the cgroup driver is cgroupfs (RuntimeConfig): want an absolute path like /kubepods/burstable/pod<uid>`,
    );
  try {
    checkEngineCgroupParent(parent);
  } catch (err) {
    throw new CriError("INVALID_ARGUMENT", `${field}: ${(err as Error).message}`);
  }
}

const MODES: readonly NamespaceMode[] = ["POD", "CONTAINER", "NODE", "TARGET"];

function mode(v: unknown, field: string, allowed: readonly NamespaceMode[]): NamespaceMode {
  const m = (v ?? "POD") as NamespaceMode;
  if (!MODES.includes(m) || !allowed.includes(m))
    throw new CriError(
      "INVALID_ARGUMENT",
      `${field}: ${String(v)} is not supported for a pod sandbox (want ${allowed.join(" or ")})`,
    );
  return m;
}

/** A pod's identity from `PodSandboxMetadata`; `INVALID_ARGUMENT` when a part is missing. Pure. */
export function podMetadata(m: Message | undefined): PodMetadata {
  const meta = {
    name: str(m, "name"),
    uid: str(m, "uid"),
    namespace: str(m, "namespace"),
    attempt: num(m, "attempt"),
  };
  for (const k of ["name", "uid", "namespace"] as const)
    if (!meta[k]) throw new CriError("INVALID_ARGUMENT", `config.metadata.${k} is required`);
  return meta;
}

/** The engine name of a sandbox (dockershim's and cri-dockerd's form: `k8s_POD_name_ns_uid_attempt`). Pure. */
export function sandboxName(m: PodMetadata): string {
  return `k8s_POD_${m.name}_${m.namespace}_${m.uid}_${m.attempt}`;
}

/** The CRI's view of the sandboxes of one engine. */
export class Sandboxes {
  constructor(
    private readonly engine: Engine,
    private readonly cgroupDriver: CgroupDriver = "cgroupfs",
    /** The CNI config directory pods' network comes from; "" for pier's own bridge network. */
    private readonly cniConfDir = DEFAULT_CNI_CONF_DIR,
    private readonly host: () => Pick<HostFacts, "appArmor"> = readHostFacts,
  ) {}

  /** The pod network (the CNI config directory's first network), or `FAILED_PRECONDITION`. */
  private podNetwork(): CniConflist | undefined {
    if (!this.cniConfDir) return undefined;
    const choice = loadCniConfig(this.cniConfDir);
    if ("missing" in choice)
      throw new CriError(
        "FAILED_PRECONDITION",
        `the pod network is not ready: ${choice.missing} (install a CNI network, or start pierd with --cni-conf-dir "" for pier's own bridge)`,
      );
    return choice.conflist;
  }

  /** The sandbox record `id` (full or prefix) with its state; `NOT_FOUND` otherwise. */
  find(id: string): { rec: ContainerRecord; state: CriSandboxState } {
    const rec = this.engine.containers.find(checkId(id, "pod sandbox"));
    const state = sandboxState(rec);
    if (!state) throw new CriError("NOT_FOUND", `pod sandbox ${id} not found`);
    return { rec, state };
  }

  /** Every sandbox. */
  list(): { rec: ContainerRecord; state: CriSandboxState }[] {
    return this.engine.containers.list().flatMap((rec) => {
      const state = sandboxState(rec);
      return state ? [{ rec, state }] : [];
    });
  }

  /** The engine containers of the pod `sandboxId`. */
  members(sandboxId: string): ContainerRecord[] {
    return this.engine.containers
      .list()
      .filter((r) => r.config.labels?.[SANDBOX_ID_LABEL] === sandboxId && containerState(r));
  }

  /** RunPodSandbox: creates and starts the pause container; nothing stays when that fails. */
  async run(req: Message, signal: AbortSignal): Promise<Message> {
    const config = msg(req, "config");
    if (!config) throw new CriError("INVALID_ARGUMENT", "config is required");
    const handler = str(req, "runtime_handler");
    if (handler !== "")
      throw new CriError(
        "INVALID_ARGUMENT",
        `runtime_handler ${JSON.stringify(handler)}: pier has only the default handler ""`,
      );
    refuseUnapplied(config, "config", APPLIED);
    const metadata = podMetadata(msg(config, "metadata"));
    const linux = msg(config, "linux");
    const sc = msg(linux, "security_context");
    const ns = msg(sc, "namespace_options");
    checkUserNamespace(ns, "config.linux.security_context.namespace_options");
    const mapped = mapSecurityContext(sc, {
      field: "config.linux.security_context",
      appArmor: this.host().appArmor,
      readProfile: (path) => readBoundedFile(path, MAX_SECCOMP_PROFILE),
    });
    const cgroupParent = str(linux, "cgroup_parent");
    if (cgroupParent) checkCgroupParent(cgroupParent, this.cgroupDriver);
    // The kubelet enforces these on the pod's cgroup (cgroup_parent); read to check them.
    const host = cgroupHost();
    const podResources = mapResources(msg(linux, "resources"), "config.linux.resources", host);
    const overhead = mapResources(msg(linux, "overhead"), "config.linux.overhead", host);
    const state: CriSandboxState = {
      kind: "sandbox",
      metadata,
      labels: strMap(config, "labels"),
      annotations: strMap(config, "annotations"),
      logDirectory: str(config, "log_directory"),
      runtimeHandler: handler,
      network: mode(ns?.network, "namespace_options.network", ["POD", "NODE"]),
      pid: mode(ns?.pid, "namespace_options.pid", ["POD", "CONTAINER", "NODE"]),
      ipc: mode(ns?.ipc, "namespace_options.ipc", ["POD", "NODE"]),
      ...(mapped.security.privileged ? { privileged: true } : {}),
      ...(cgroupParent ? { cgroupParent } : {}),
      ...(podResources ? { podResources } : {}),
      ...(overhead ? { overhead } : {}),
    };
    const hostNetwork = state.network === "NODE";
    const hostname = str(config, "hostname");
    const dns = msg(config, "dns_config");
    // A mapping without a host port only declares the container's port (as containerd skips it).
    const ports = msgs(config, "port_mappings")
      .filter((p) => num(p, "host_port") > 0)
      .map((p) => ({
        containerPort: num(p, "container_port"),
        hostPort: num(p, "host_port"),
        hostIP: str(p, "host_ip"),
        protocol: (p.protocol ?? "TCP") === "TCP" ? "tcp" : p.protocol === "UDP" ? "udp" : undefined,
      }));
    for (const p of ports)
      if (!p.protocol)
        throw new CriError(
          "INVALID_ARGUMENT",
          "config.port_mappings.protocol: only TCP and UDP are supported",
        );
    if (hostNetwork && ports.length)
      throw new CriError(
        "INVALID_ARGUMENT",
        "config.port_mappings: a pod on the host's network publishes no ports",
      );
    const sysctls = strMap(msg(config, "linux"), "sysctls");
    const cniNetwork = hostNetwork ? undefined : this.podNetwork();
    const image = await ensurePauseImage(this.engine.images.service);
    const rec = await this.engine.containers.createFrom(
      {
        image,
        ...(hostNetwork ? { networkMode: "host" } : cniNetwork ? { cniNetwork } : { networkMode: "bridge" }),
        ...(hostname && !hostNetwork ? { hostname } : {}),
        ...(dns
          ? {
              dns: {
                servers: strs(dns, "servers"),
                search: strs(dns, "searches"),
                options: strs(dns, "options"),
              },
            }
          : {}),
        ...(ports.length ? { ports } : {}),
        ...(Object.keys(sysctls).length ? { sysctls } : {}),
        ...(mapped.user ? { user: mapped.user } : {}),
        security: {
          ...mapped.security,
          // The pod's containers join its IPC namespace and its /dev/shm (as containerd's sandbox shm).
          ipcMode: state.ipc === "NODE" ? "host" : "shareable",
          ...(state.pid === "NODE" ? { pidMode: "host" } : {}),
        },
        ...(cgroupParent ? { cgroupParent } : {}),
        labels: engineLabels(state, metadata),
      },
      sandboxName(metadata),
      signal,
    );
    try {
      await this.engine.containers.start(rec.id);
    } catch (err) {
      await this.engine.containers.remove(rec.id, true).catch(() => {});
      throw err;
    }
    return { pod_sandbox_id: rec.id };
  }

  /** StopPodSandbox: kills the pod's containers, then the sandbox; done already is no error. */
  async stop(req: Message): Promise<Message> {
    let found: ReturnType<Sandboxes["find"]>;
    try {
      found = this.find(str(req, "pod_sandbox_id"));
    } catch (err) {
      if (isNotFound(err)) return {};
      throw err;
    }
    // The kubelet stopped them with their grace periods already: what is left is killed.
    await Promise.all(
      this.members(found.rec.id).map((r) => this.engine.containers.stop(r.id, 0).catch(() => false)),
    );
    await this.engine.containers.stop(found.rec.id, 0);
    return {};
  }

  /** RemovePodSandbox: removes the pod's containers and the sandbox; gone already is no error. */
  async remove(req: Message): Promise<Message> {
    let found: ReturnType<Sandboxes["find"]>;
    try {
      found = this.find(str(req, "pod_sandbox_id"));
    } catch (err) {
      if (isNotFound(err)) return {};
      throw err;
    }
    for (const r of this.members(found.rec.id)) await this.engine.containers.remove(r.id, true);
    await this.engine.containers.remove(found.rec.id, true);
    return {};
  }

  /** The `PodSandboxStatus` message of a sandbox. */
  status(rec: ContainerRecord, state: CriSandboxState): Message {
    const attachment = this.engine.containers.networks.attachment(rec.id);
    const ip = rec.status === "running" ? (attachment?.address?.split("/")[0] ?? "") : "";
    return {
      id: rec.id,
      metadata: state.metadata,
      state: rec.status === "running" ? "SANDBOX_READY" : "SANDBOX_NOTREADY",
      created_at: nanos(rec.createdAt),
      network: { ip },
      linux: { namespaces: { options: { network: state.network, pid: state.pid, ipc: state.ipc } } },
      labels: state.labels,
      annotations: state.annotations,
      runtime_handler: state.runtimeHandler,
    };
  }

  /** PodSandboxStatus; with `verbose`, `info.info` is JSON of the engine's view (pid, netns, config). */
  podSandboxStatus(req: Message): Message {
    const { rec, state } = this.find(str(req, "pod_sandbox_id"));
    const out: Message = { status: this.status(rec, state), timestamp: nanos(new Date().toISOString()) };
    if (bool(req, "verbose")) {
      const attachment = this.engine.containers.networks.attachment(rec.id);
      out.info = {
        info: JSON.stringify({
          pid: rec.pid,
          engineName: rec.name,
          image: rec.config.image,
          netns: attachment?.netns ?? "",
          network: attachment?.network ?? (state.network === "NODE" ? "host" : ""),
          ports: attachment?.ports ?? [],
          cgroupParent: state.cgroupParent ?? "",
          podResources: state.podResources ?? {},
          overhead: state.overhead ?? {},
          config: rec.config,
        }),
      };
    }
    return out;
  }

  /** ListPodSandbox with its filter (id or id prefix, state, labels). */
  listPodSandbox(req: Message): Message {
    const filter = msg(req, "filter");
    const id = str(filter, "id");
    const wantState = msg(filter, "state")
      ? String(msg(filter, "state")?.state ?? "SANDBOX_READY")
      : undefined;
    const selector = strMap(filter, "label_selector");
    const items = this.list()
      .filter(({ rec, state }) => {
        if (id && !rec.id.startsWith(id)) return false;
        const s = rec.status === "running" ? "SANDBOX_READY" : "SANDBOX_NOTREADY";
        if (wantState !== undefined && s !== wantState) return false;
        return matchesLabels(state.labels, selector);
      })
      .map(({ rec, state }) => {
        const s = this.status(rec, state);
        return {
          id: s.id,
          metadata: s.metadata,
          state: s.state,
          created_at: s.created_at,
          labels: s.labels,
          annotations: s.annotations,
          runtime_handler: s.runtime_handler,
        };
      });
    return { items };
  }
}
