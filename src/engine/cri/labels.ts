/**
 * How CRI objects are recorded on ordinary engine containers: the labels containerd's CRI
 * plugin gives them (`io.cri-containerd.kind`, the kubelet's `io.kubernetes.*` ones, the
 * request's own labels) so `pier ps`, `docker ps --filter label=…` and the Docker API see pods
 * as containerd shows them, plus one pier label holding what the CRI must report back exactly
 * (metadata, labels, annotations, log path), which survives pierd restarts with the container.
 */
import type { ContainerRecord } from "../containers/store.js";
import { CriError } from "./error.js";

/** containerd's label saying what a CRI container is: `sandbox` or `container`. */
export const KIND_LABEL = "io.cri-containerd.kind";
/** The pod's sandbox id, on each of its containers (dockershim's label). */
export const SANDBOX_ID_LABEL = "io.kubernetes.sandbox.id";
/** Kubernetes' labels of a pod's objects. */
export const POD_NAME_LABEL = "io.kubernetes.pod.name";
export const POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace";
export const POD_UID_LABEL = "io.kubernetes.pod.uid";
export const CONTAINER_NAME_LABEL = "io.kubernetes.container.name";
/** pier's record of the CRI request (JSON of {@link CriSandboxState} or {@link CriContainerState}). */
export const STATE_LABEL = "io.pier.cri.state";

/** A pod's identity (`PodSandboxMetadata`). */
export interface PodMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

/** `NamespaceMode` as the CRI names it. */
export type NamespaceMode = "POD" | "CONTAINER" | "NODE" | "TARGET";

/** What a sandbox reports back, and how its containers join it. */
export interface CriSandboxState {
  kind: "sandbox";
  metadata: PodMetadata;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  logDirectory: string;
  runtimeHandler: string;
  /** The pod's namespace modes (network NODE: the host's network). */
  network: NamespaceMode;
  pid: NamespaceMode;
  ipc: NamespaceMode;
  /** The pod may run privileged containers (`security_context.privileged`). */
  privileged?: boolean;
  /** The pod's cgroup (`linux.cgroup_parent`), its containers' parent too. */
  cgroupParent?: string;
  /**
   * The pod's resources and overhead as the kubelet gave them (the engine's `resources` form):
   * the kubelet enforces them on `cgroupParent`; reported in the verbose status.
   */
  podResources?: Record<string, unknown>;
  overhead?: Record<string, unknown>;
}

/** What a container reports back. */
export interface CriContainerState {
  kind: "container";
  sandboxId: string;
  metadata: { name: string; attempt: number };
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The image as the request named it (`ImageSpec.image`). */
  image: string;
  /** The CRI log file (log_directory + log_path), or "" for none. */
  logPath: string;
}

/** The engine labels of a CRI object: the request's labels, Kubernetes' and pier's own. Pure. */
export function engineLabels(
  state: CriSandboxState | CriContainerState,
  pod: PodMetadata,
): Record<string, string> {
  if (STATE_LABEL in state.labels || KIND_LABEL in state.labels)
    throw new CriError("INVALID_ARGUMENT", `labels: ${STATE_LABEL} and ${KIND_LABEL} are the runtime's own`);
  return {
    ...state.labels,
    [KIND_LABEL]: state.kind,
    [POD_NAME_LABEL]: pod.name,
    [POD_NAMESPACE_LABEL]: pod.namespace,
    [POD_UID_LABEL]: pod.uid,
    ...(state.kind === "container"
      ? { [CONTAINER_NAME_LABEL]: state.metadata.name, [SANDBOX_ID_LABEL]: state.sandboxId }
      : {}),
    [STATE_LABEL]: JSON.stringify(state),
  };
}

function stateOf(rec: ContainerRecord): CriSandboxState | CriContainerState | undefined {
  const text = rec.config.labels?.[STATE_LABEL];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as CriSandboxState | CriContainerState;
  } catch {
    return undefined;
  }
}

/** The sandbox state of `rec`, or undefined when it is not a CRI sandbox. Pure. */
export function sandboxState(rec: ContainerRecord): CriSandboxState | undefined {
  const s = stateOf(rec);
  return s?.kind === "sandbox" ? s : undefined;
}

/** The container state of `rec`, or undefined when it is not a CRI container. Pure. */
export function containerState(rec: ContainerRecord): CriContainerState | undefined {
  const s = stateOf(rec);
  return s?.kind === "container" ? s : undefined;
}

/** True when every pair of `selector` is among `labels` (the CRI's label filters). Pure. */
export function matchesLabels(labels: Record<string, string>, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Checks a CRI object id given by a client: hex, a full id or a prefix of one. Pure. */
export function checkId(id: string, what: string): string {
  if (!/^[0-9a-f]{1,64}$/.test(id))
    throw new CriError(
      id === "" ? "INVALID_ARGUMENT" : "NOT_FOUND",
      `${what} ${JSON.stringify(id)}: not an id`,
    );
  return id;
}
