/**
 * Deciding where a container's cgroup lives from the runtime-spec `cgroupsPath`, as runc does.
 * Pure: the manager joins the result with each hierarchy's mount point.
 */
import { posix } from "node:path";
import { CgroupError } from "./error.js";

/** What {@link resolveCgroupPath} needs. */
export interface CgroupPathRequest {
  /** The config's `linux.cgroupsPath`; absent or empty means the default `/<containerId>`. */
  cgroupsPath?: string;
  containerId: string;
  /** The systemd driver was asked for (`--systemd-cgroup`): `cgroupsPath` is `slice:prefix:name`. */
  systemd?: boolean;
  /** Whether systemd is PID 1 here; when it is not, the systemd form is translated to cgroupfs. */
  systemdRunning?: boolean;
}

/** Where the cgroup is, per hierarchy. */
export interface ResolvedCgroupPath {
  /** A clean path: absolute (from each hierarchy's root) or relative (to the caller's own cgroup). */
  path: string;
  relative: boolean;
  /** Human-readable decisions the caller should surface (e.g. a driver fallback). */
  notes: string[];
}

function invalid(message: string): never {
  throw new CgroupError("INVALID_PATH", message);
}

/** Refuses anything that could leave the hierarchy or confuse the kernel, then normalises. */
export function cleanCgroupPath(raw: string, what = "cgroupsPath"): string {
  if (raw.includes("\0")) invalid(`${what}: must not contain NUL`);
  if (raw.split("/").includes(".."))
    invalid(`${what}: must not contain ".." components: ${JSON.stringify(raw)}`);
  const cleaned = posix.normalize(raw).replace(/\/+$/, "");
  if (cleaned === "" || cleaned === "." || cleaned === "/") {
    invalid(`${what}: must name a cgroup below the root: ${JSON.stringify(raw)}`);
  }
  return cleaned;
}

/**
 * Expands a systemd slice name into its cgroup path, as systemd does: `a-b-c.slice` is
 * `/a.slice/a-b.slice/a-b-c.slice`, and `-.slice` is the root.
 */
export function expandSlice(slice: string): string {
  if (!slice.endsWith(".slice") || slice.includes("/")) {
    invalid(`invalid systemd slice name ${JSON.stringify(slice)}: must end in ".slice" and contain no "/"`);
  }
  const name = slice.slice(0, -".slice".length);
  if (name === "-") return "/";
  if (name === "" || name.startsWith("-") || name.endsWith("-") || name.includes("--")) {
    invalid(`invalid systemd slice name ${JSON.stringify(slice)}`);
  }
  let prefix = "";
  let path = "";
  for (const part of name.split("-")) {
    prefix = prefix === "" ? part : `${prefix}-${part}`;
    path += `/${prefix}.slice`;
  }
  return path;
}

/**
 * Translates the systemd driver's `slice:prefix:name` into the cgroup path systemd would use:
 * `system.slice:docker:abc` is `/system.slice/docker-abc.scope`; a `name` ending in `.slice`
 * is a slice itself. An empty slice means `system.slice`.
 */
export function systemdCgroupPath(cgroupsPath: string): string {
  const parts = cgroupsPath.split(":");
  if (parts.length !== 3) {
    invalid(`cgroupsPath ${JSON.stringify(cgroupsPath)}: the systemd driver expects "slice:prefix:name"`);
  }
  const [slice, prefix, name] = parts as [string, string, string];
  if (name === "" || name.includes("/")) invalid(`cgroupsPath ${JSON.stringify(cgroupsPath)}: bad unit name`);
  if (prefix.includes("/")) invalid(`cgroupsPath ${JSON.stringify(cgroupsPath)}: bad unit prefix`);
  const parent = expandSlice(slice === "" ? "system.slice" : slice);
  const unit = name.endsWith(".slice") ? name : prefix === "" ? `${name}.scope` : `${prefix}-${name}.scope`;
  return posix.join(parent, unit);
}

/**
 * Decides the container's cgroup path like runc: an absolute `cgroupsPath` is taken from each
 * hierarchy's root, a relative one from the runtime's own cgroup, none means `/<containerId>`.
 * With `systemd` the `slice:prefix:name` form is required; without a running systemd it is
 * translated to the same path under cgroupfs and a note says so. Throws `INVALID_PATH`.
 */
export function resolveCgroupPath(req: CgroupPathRequest): ResolvedCgroupPath {
  const notes: string[] = [];
  if (req.containerId === "" || req.containerId.includes("/") || req.containerId === "..") {
    invalid(`container id ${JSON.stringify(req.containerId)} cannot name a cgroup`);
  }
  if (req.systemd) {
    const spec = req.cgroupsPath ? req.cgroupsPath : `system.slice:pier:${req.containerId}`;
    const path = systemdCgroupPath(spec);
    if (!req.systemdRunning) {
      notes.push(`systemd is not running: managing ${path} through cgroupfs instead of a systemd scope`);
    } else {
      notes.push(`the systemd driver is not implemented: managing ${path} through cgroupfs`);
    }
    return { path: cleanCgroupPath(path), relative: false, notes };
  }
  const raw = req.cgroupsPath ? req.cgroupsPath : `/${req.containerId}`;
  const path = cleanCgroupPath(raw);
  return { path, relative: !path.startsWith("/"), notes };
}
