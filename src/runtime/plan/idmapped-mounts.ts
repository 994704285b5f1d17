/**
 * Idmapped bind mounts (`idmap`/`ridmap` options, a mount's `uidMappings`/`gidMappings`;
 * config.md "Mounts"). pier-init clones the source with open_tree(OPEN_TREE_CLONE) and applies
 * mount_setattr(MOUNT_ATTR_IDMAP) with a user namespace holding the mapping BEFORE the container
 * is cloned: setting an idmap needs privilege over the source filesystem's user namespace, which
 * a container's own user namespace lacks. The detached tree's fd is inherited by the container
 * process, which attaches it with move_mount at the mount's place in the order. Pure.
 *
 * A mapping line is written to the idmap namespace as given (`containerID hostID size`), as runc
 * and crun do: a file whose on-disk owner is `containerID + k` shows as `hostID + k` through the
 * mount (and then through the container's own user namespace, if any).
 */
import type { IdMapping, Mount } from "../../oci/runtime-spec/config.js";
import { RuntimeError } from "../error.js";
import { MS } from "./linux-constants.js";
import type { MountOptions } from "./mount-options.js";
import { op, type PlanOp } from "./ops.js";
import { procBindGuard } from "./proc-binds.js";
import { idMapText } from "./user-namespace.js";

/** True when mount `m` asks for an idmapped mount (an option or mappings). */
export function wantsIdmap(m: Mount, o: MountOptions): boolean {
  return o.idmap !== undefined || (m.uidMappings?.length ?? 0) > 0 || (m.gidMappings?.length ?? 0) > 0;
}

/** What {@link idmappedMountOps} needs about the mount and the container. */
export interface IdmapInput {
  index: number;
  mount: Mount;
  options: MountOptions;
  /** Absolute host path of the bind source. */
  source: string;
  /** Destination relative to the rootfs. */
  dest: string;
  kind: "file" | "dir";
  /** The runtime runs rootless: it lacks the host privilege an idmap of a host filesystem needs. */
  rootless?: boolean;
  /** The container's own mappings when it gets a new user namespace (the default idmap). */
  userNs?: { uidMappings: readonly IdMapping[]; gidMappings: readonly IdMapping[] };
}

/**
 * `pre` runs in the helper before the container is cloned (`idmaptree INDEX SRC UIDMAP GIDMAP
 * RECURSIVE`); `child` attaches it (`idmapmount INDEX DEST KIND FLAGS [noproc]`). Throws
 * `INVALID_CONFIG` naming the field for what the spec calls an error.
 */
export function idmappedMountOps(input: IdmapInput): { pre: PlanOp[]; child: PlanOp[] } {
  const { index: i, mount: m, options: o } = input;
  if (!o.bind)
    throw new RuntimeError(
      "INVALID_CONFIG",
      `mounts[${i}]: idmapped mounts are supported for bind mounts only`,
    );
  if (input.rootless)
    throw new RuntimeError(
      "INVALID_CONFIG",
      `mounts[${i}]: idmapped mounts need CAP_SYS_ADMIN over the source's filesystem, which a rootless runtime lacks`,
    );
  const hasUid = (m.uidMappings?.length ?? 0) > 0;
  const hasGid = (m.gidMappings?.length ?? 0) > 0;
  if (hasUid !== hasGid)
    throw new RuntimeError(
      "INVALID_CONFIG",
      `mounts[${i}]: uidMappings and gidMappings must be given together`,
    );
  let uids: readonly IdMapping[] = m.uidMappings ?? [];
  let gids: readonly IdMapping[] = m.gidMappings ?? [];
  if (!hasUid) {
    if (!input.userNs)
      throw new RuntimeError(
        "INVALID_CONFIG",
        `mounts[${i}]: ${o.idmap ?? "idmap"} without uidMappings/gidMappings needs a container user namespace`,
      );
    uids = input.userNs.uidMappings;
    gids = input.userNs.gidMappings;
  }
  // `ridmap`, or mappings on an rbind without `idmap`, apply to every mount of the tree.
  const recursive = o.idmap === "ridmap" || (o.idmap === undefined && (o.flags & MS.REC) !== 0);
  const rest = o.flags & ~(MS.BIND | MS.REC);
  return {
    pre: [
      op(
        "idmaptree",
        i,
        input.source,
        idMapText(uids),
        idMapText(gids),
        recursive ? 1 : 0,
        o.flags & MS.REC ? 1 : 0,
      ),
    ],
    child: [op("idmapmount", i, input.dest, input.kind, rest, ...procBindGuard(input.dest))],
  };
}
