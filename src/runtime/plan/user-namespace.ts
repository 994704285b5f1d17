/**
 * How the id mappings of a new user namespace reach the kernel. Root writes `uid_map`/`gid_map`
 * itself. An unprivileged caller may write only one line mapping its own id (and must deny
 * setgroups first for the gid map); anything more goes through the setuid helpers
 * `newuidmap`/`newgidmap`, which check the ranges in /etc/subuid and /etc/subgid, as runc does.
 * Pure: the helpers' paths come in as host facts.
 */
import type { IdMapping } from "../../oci/runtime-spec/config.js";
import { RuntimeError } from "../error.js";
import { op, type PlanOp } from "./ops.js";

/** True when a process with effective uid `euid` may write `maps` itself (`callerId`: its own id). */
export function writableByCaller(maps: readonly IdMapping[], euid: number, callerId: number): boolean {
  if (euid === 0) return true;
  const [only] = maps;
  return maps.length === 1 && only !== undefined && only.size === 1 && only.hostID === callerId;
}

/** The text written to `/proc/<pid>/uid_map` or `gid_map`. */
export function idMapText(maps: readonly IdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

/**
 * The op that runs `newuidmap`/`newgidmap` (at `tool`) with `maps`: after the pid, each mapping's
 * `containerID hostID size`. Throws `INVALID_CONFIG` naming `field` when there is no mapping.
 */
export function idMapHelperOp(
  name: "newuidmap" | "newgidmap",
  tool: string,
  maps: readonly IdMapping[],
  field: string,
): PlanOp {
  const [first, ...more] = maps;
  if (!first) throw new RuntimeError("INVALID_CONFIG", `${field}: a new user namespace needs a mapping`);
  const rest = more.flatMap((m) => [m.containerID, m.hostID, m.size]);
  return op(name, tool, first.containerID, first.hostID, first.size, ...rest);
}

/** What the caller knows about itself and the host for {@link idMapOps}. */
export interface IdMapHost {
  euid: number;
  egid?: number;
  idMapHelpers?: { newuidmap?: string; newgidmap?: string };
}

/** The ops that map a new user namespace, and whether `setgroups` is denied in it. */
export function idMapOps(
  uidMaps: readonly IdMapping[],
  gidMaps: readonly IdMapping[],
  host: IdMapHost,
): { ops: PlanOp[]; setgroupsDenied: boolean } {
  const ops: PlanOp[] = [op("uidmap", idMapText(uidMaps)), op("gidmap", idMapText(gidMaps))];
  if (!writableByCaller(uidMaps, host.euid, host.euid)) {
    const tool = host.idMapHelpers?.newuidmap;
    if (!tool)
      throw new RuntimeError(
        "INVALID_CONFIG",
        "linux.uidMappings: mapping more than the caller's own uid needs newuidmap (Debian package uidmap)",
      );
    ops.push(idMapHelperOp("newuidmap", tool, uidMaps, "linux.uidMappings"));
  }
  let setgroupsDenied = false;
  if (!writableByCaller(gidMaps, host.euid, host.egid ?? 0)) {
    const tool = host.idMapHelpers?.newgidmap;
    if (!tool)
      throw new RuntimeError(
        "INVALID_CONFIG",
        "linux.gidMappings: mapping more than the caller's own gid needs newgidmap (Debian package uidmap)",
      );
    // newgidmap decides setgroups itself (allowed when the ranges come from /etc/subgid).
    ops.push(idMapHelperOp("newgidmap", tool, gidMaps, "linux.gidMappings"));
  } else if (host.euid !== 0) {
    ops.push(op("setgroups", "deny"));
    setgroupsDenied = true;
  }
  return { ops, setgroupsDenied };
}
