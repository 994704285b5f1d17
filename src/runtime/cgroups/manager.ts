/**
 * Opening a container's cgroup: the entry point of the cgroup library.
 *
 * ```ts
 * import { openCgroup } from "./runtime/cgroups/manager.js";
 * const cg = await openCgroup({ cgroupsPath: config.linux?.cgroupsPath, containerId: id, systemd });
 * await cg.create();                     // removes what it made if it fails
 * await cg.apply(validateLinuxResources(config.linux?.resources ?? {}));
 * await cg.addProcess(initPid);          // before the container's process execs
 * state.cgroupPaths = cg.paths;          // later: openCgroup({ containerId: id, paths })
 * // pause / resume:   await cg.freeze(); await cg.thaw(); await cg.state()
 * // kill --all:       await cg.kill("SIGTERM")   (no fork escapes)
 * // events:           for await (const e of containerEvents(cg, id)) print(JSON.stringify(e))
 * // events --stats:   JSON.stringify({ type: "stats", id, data: await cg.stats() })
 * // update:           await cg.update(resources)
 * // delete (after every process is gone): await cg.destroy()
 * for (const note of cg.notes) log.warn(note);
 * ```
 *
 * The host's layout is read from `/proc/self/mountinfo`: a pure cgroup2 host gets a
 * {@link V2Cgroup}; a v1 or hybrid host a {@link V1Cgroup}, which on hybrid hosts also joins the
 * cgroup2 tree (for process tracking, pressure stats and `cgroup.kill`, as runc joins it) but
 * sets limits only through v1. Device rules on v2 need `deviceFilterLoader` (bpf(2) is native).
 */
import { existsSync } from "node:fs";
import { join, relative as relativePath } from "node:path";
import type { Cgroup } from "./cgroup.js";
import { CgroupError } from "./error.js";
import { type CgroupLayout, type CgroupMount, readLayout, readOwnCgroups } from "./mountinfo.js";
import { resolveCgroupPath } from "./path.js";
import { V1Cgroup, type V1Hierarchy } from "./v1/manager.js";
import type { DeviceFilterLoader } from "./v2/devices.js";
import { V2Cgroup } from "./v2/manager.js";

/** Options of {@link openCgroup}. */
export interface OpenCgroupOptions {
  /** `linux.cgroupsPath` of the config (see `resolveCgroupPath` for its meaning). */
  cgroupsPath?: string;
  containerId: string;
  /** `--systemd-cgroup`: `cgroupsPath` is `slice:prefix:name`. */
  systemd?: boolean;
  /** The host layout; read from `/proc/self/mountinfo` when absent (tests pass their own). */
  layout?: CgroupLayout;
  /** The runtime's own cgroups, for relative paths; read from `/proc/self/cgroup` when needed. */
  ownCgroups?: Record<string, string>;
  /** v2 only: delegate controllers in every ancestor on `create` (default true, as runc). */
  delegateControllers?: boolean;
  /**
   * Reopen an existing container's cgroup from the `paths` of a {@link Cgroup} stored earlier
   * (e.g. in the runtime's state): `cgroupsPath` and `systemd` are then ignored. This is how a
   * later `pier-runtime` invocation, possibly running in another cgroup, finds a relative
   * `cgroupsPath` again. Every directory must lie below its hierarchy's mount.
   */
  paths?: Readonly<Record<string, string>>;
  /**
   * v2 only: loads the device filter (bpf(2) is beyond Node; the native helper provides this).
   * Without it `linux.resources.devices` is not enforced on v2 hosts and a note says so.
   */
  deviceFilterLoader?: DeviceFilterLoader;
}

/**
 * The directory of the cgroup `path` in one hierarchy. Absolute paths start at the mount;
 * relative ones at `own` (the runtime's cgroup there), less the part above the mount's root
 * (which a cgroup namespace or bind mount hides). Pure.
 */
export function hierarchyDir(
  mount: CgroupMount,
  path: string,
  relative: boolean,
  own: string | undefined,
): string {
  if (!relative) return join(mount.mountPoint, path);
  let base = own ?? "/";
  if (mount.root !== "/" && (base === mount.root || base.startsWith(`${mount.root}/`))) {
    base = base.slice(mount.root.length) || "/";
  }
  return join(mount.mountPoint, base, path);
}

/** True when systemd is the init system (what `sd_booted(3)` checks). */
export function systemdRunning(): boolean {
  return existsSync("/run/systemd/system");
}

/**
 * Opens (does not create) the cgroup of a container: resolves `cgroupsPath` as runc does and
 * finds its directory in every hierarchy. Throws `CgroupError` `INVALID_PATH` for a bad path,
 * `NO_CGROUP_MOUNT` when cgroups are not mounted. With `systemd` but no systemd running, the
 * `slice:prefix:name` path is managed through cgroupfs and `notes` says so.
 */
export async function openCgroup(options: OpenCgroupOptions): Promise<Cgroup> {
  const layout = options.layout ?? (await readLayout());
  if (options.paths) return reopen(layout, options.paths, options);
  const resolved = resolveCgroupPath({
    containerId: options.containerId,
    ...(options.cgroupsPath !== undefined && { cgroupsPath: options.cgroupsPath }),
    systemd: options.systemd ?? false,
    systemdRunning: options.systemd ? systemdRunning() : false,
  });
  const own = resolved.relative ? (options.ownCgroups ?? (await readOwnCgroups())) : {};
  const notes = [...resolved.notes];
  if (layout.mode === "unified") {
    if (!layout.unified) throw new CgroupError("NO_CGROUP_MOUNT", "cgroup v2 layout without a cgroup2 mount");
    const dir = hierarchyDir(layout.unified, resolved.path, resolved.relative, own[""]);
    return new V2Cgroup(
      layout.mode,
      below(layout.unified, dir, "unified"),
      layout.unified.mountPoint,
      dir,
      notes,
      options.delegateControllers,
      options.deviceFilterLoader,
    );
  }
  const hierarchies: V1Hierarchy[] = Object.entries(layout.v1).map(([name, mount]) => ({
    name,
    mountPoint: mount.mountPoint,
    dir: hierarchyDir(mount, resolved.path, resolved.relative, own[name]),
  }));
  if (layout.mode === "hybrid" && layout.unified) {
    hierarchies.push({
      name: "unified",
      mountPoint: layout.unified.mountPoint,
      dir: hierarchyDir(layout.unified, resolved.path, resolved.relative, own[""]),
    });
  }
  // A relative path resolves per hierarchy; when the runtime sits at the same place in all of
  // them (the usual case) there is one absolute path to report.
  const absolute = new Set(
    hierarchies.map((h) => below({ mountPoint: h.mountPoint, root: "/" }, h.dir, h.name)),
  );
  const path = absolute.size === 1 ? [...absolute][0]! : resolved.path;
  return new V1Cgroup(layout.mode, path, hierarchies, notes);
}

function below(mount: CgroupMount, dir: string, name: string): string {
  const rel = relativePath(mount.mountPoint, dir);
  if (rel === "" || rel.startsWith("..") || rel.startsWith("/")) {
    throw new CgroupError(
      "INVALID_PATH",
      `stored cgroup path for ${name} (${dir}) is not below ${mount.mountPoint}`,
    );
  }
  return `/${rel}`;
}

function reopen(
  layout: CgroupLayout,
  paths: Readonly<Record<string, string>>,
  options: OpenCgroupOptions,
): Cgroup {
  if (layout.mode === "unified") {
    const dir = paths.unified;
    if (!layout.unified || !dir)
      throw new CgroupError("INVALID_PATH", "stored cgroup paths have no unified directory");
    return new V2Cgroup(
      layout.mode,
      below(layout.unified, dir, "unified"),
      layout.unified.mountPoint,
      dir,
      [],
      options.delegateControllers,
      options.deviceFilterLoader,
    );
  }
  const hierarchies: V1Hierarchy[] = [];
  for (const [name, dir] of Object.entries(paths)) {
    const mount = name === "unified" ? layout.unified : layout.v1[name];
    if (!mount) continue; // a hierarchy that is gone has nothing left to manage
    below(mount, dir, name);
    hierarchies.push({ name, mountPoint: mount.mountPoint, dir });
  }
  const first = hierarchies[0];
  if (!first) throw new CgroupError("INVALID_PATH", "stored cgroup paths name no mounted hierarchy");
  return new V1Cgroup(
    layout.mode,
    below({ mountPoint: first.mountPoint, root: "/" }, first.dir, first.name),
    hierarchies,
    [],
  );
}
