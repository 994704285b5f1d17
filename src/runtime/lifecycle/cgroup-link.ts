/**
 * The runtime's view of a container's cgroup: where it is, how to put a process in it, list its
 * processes and remove it. Backed by the cgroups library (`src/runtime/cgroups/`) once it lands;
 * until then containers stay in the runtime's own cgroup and `cgroupForContainer` returns
 * undefined.
 */
import type { Spec } from "../../oci/runtime-spec/config.js";

/** One container's cgroup (all hierarchies on v1 / hybrid hosts). */
export interface ContainerCgroup {
  /** The cgroupsPath as resolved (stored in the state). */
  path: string;
  /** Per hierarchy name (basename of its mountpoint), the container's path inside it. */
  mountPaths: Record<string, string>;
  addProcess(pid: number): Promise<void>;
  /** Pids of every process in the container's cgroup. */
  pids(): Promise<number[]>;
  destroy(): Promise<void>;
}

/** Creates (or opens) the cgroup of a container and applies `linux.resources`. */
export async function cgroupForContainer(
  _id: string,
  _spec: Spec,
  _systemd: boolean,
): Promise<ContainerCgroup | undefined> {
  return undefined;
}

/** Opens the cgroup of an existing container from its stored path. */
export async function openContainerCgroup(_path: string | undefined): Promise<ContainerCgroup | undefined> {
  return undefined;
}
