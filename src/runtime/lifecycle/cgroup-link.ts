/**
 * The runtime's view of a container's cgroup, over the cgroups library
 * (`src/runtime/cgroups/`): created and limited at `create`, joined by the init process before
 * it runs anything, listed by `ps`/`kill --all`, removed at `delete`.
 */
import { isErrno } from "../../errors.js";
import type { Spec } from "../../oci/runtime-spec/config.js";
import type { Cgroup } from "../cgroups/cgroup.js";
import { openCgroup } from "../cgroups/manager.js";
import type { CgroupLayout } from "../cgroups/mountinfo.js";
import { RuntimeError } from "../error.js";
import { effectiveResources } from "../plan/device-rules.js";
import { isRootless, runningInUserNamespace } from "../rootless.js";
import { nativeDeviceFilterLoader } from "./device-filter-loader.js";

/** One container's cgroup (all hierarchies on v1 / hybrid hosts). */
export interface ContainerCgroup {
  /** The absolute cgroup path (what `/proc/<pid>/cgroup` shows), stored in the state. */
  path: string;
  /** The container's directory in every hierarchy. */
  dirs: string[];
  addProcess(pid: number): Promise<void>;
  /** Pids of every process in the container's cgroup. */
  pids(): Promise<number[]>;
  destroy(): Promise<void>;
  /** Thaws a frozen (paused) container. */
  thaw(): Promise<void>;
}

function wrap(cg: Cgroup): ContainerCgroup {
  return {
    path: cg.path,
    dirs: Object.values(cg.paths),
    addProcess: (pid) => cg.addProcess(pid),
    pids: () => cg.processes(),
    destroy: () => cg.destroy(),
    thaw: () => cg.thaw(),
  };
}

/**
 * Creates the cgroup of a container and applies `linux.resources`; notes of the library
 * (fallbacks, ignored fields) go to `warn`. `layout`: the host's, when the caller has it (else
 * it is read from the mount table).
 */
export async function cgroupForContainer(
  id: string,
  spec: Spec,
  systemd: boolean,
  warn: (m: string) => void,
  ownCgroups?: Record<string, string>,
  layout?: CgroupLayout,
): Promise<ContainerCgroup> {
  const cg = await openCgroup({
    containerId: id,
    systemd,
    ...(ownCgroups ? { ownCgroups } : {}),
    ...(layout ? { layout } : {}),
    deviceFilterLoader: nativeDeviceFilterLoader,
    ...(spec.linux?.cgroupsPath !== undefined ? { cgroupsPath: spec.linux.cgroupsPath } : {}),
  });
  const rootless = isRootless(process.geteuid?.() ?? 0, runningInUserNamespace());
  try {
    await cg.create();
  } catch (err) {
    // As runc's rootless cgroupfs manager: a tree not delegated to the user is skipped, unless
    // the config asks for limits that then could not be kept.
    if (!rootless || !isPermissionError(err)) throw err;
    if (hasLimits(spec))
      throw new RuntimeError(
        "INVALID_CONFIG",
        `linux.resources: rootless container needs a delegated cgroup to set limits: ${(err as Error).message}`,
        { cause: err },
      );
    warn(`rootless: cgroups not delegated to this user, container runs without its own cgroup`);
    return NO_CGROUP;
  }
  try {
    await cg.apply(effectiveResources(spec, rootless));
  } catch (err) {
    await cg.destroy().catch(() => {});
    throw err;
  }
  for (const note of cg.notes) warn(note);
  return wrap(cg);
}

/** A rootless container without a cgroup of its own: nothing to join, list or remove. */
const NO_CGROUP: ContainerCgroup = {
  path: "",
  dirs: [],
  addProcess: async () => {},
  pids: async () => [],
  destroy: async () => {},
  thaw: async () => {},
};

function isPermissionError(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause)
    if (isErrno(e, "EACCES") || isErrno(e, "EPERM") || isErrno(e, "EROFS")) return true;
  return false;
}

/** True when `linux.resources` sets anything beyond device rules (which rootless ignores). */
function hasLimits(spec: Spec): boolean {
  const r = spec.linux?.resources ?? {};
  return Object.entries(r).some(([k, v]) => k !== "devices" && v !== undefined && v !== null);
}

/** Opens the cgroup of an existing container from its stored absolute path. */
export async function openContainerCgroup(
  id: string,
  path: string | undefined,
): Promise<ContainerCgroup | undefined> {
  if (!path) return undefined;
  return wrap(
    await openCgroup({ containerId: id, cgroupsPath: path, deviceFilterLoader: nativeDeviceFilterLoader }),
  );
}
