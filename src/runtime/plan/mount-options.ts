/**
 * Turns a mount's `options` into what mount(2) and mount_setattr(2) take, as runc does: flags to
 * set and clear, propagation flags (applied after the mount), recursive `r*` attributes (applied
 * with AT_RECURSIVE) and the rest as the data string. Pure.
 */
import { MOUNT_ATTR, MS } from "./linux-constants.js";

/** The decoded options of one mount. */
export interface MountOptions {
  /** Flags for mount(2); includes MS_BIND (and MS_REC for rbind) for bind mounts. */
  flags: number;
  /** Propagation flags to apply with a second mount(2) call, in order. */
  propagation: number[];
  /** mount_setattr attributes to set / clear recursively (from `rro`, `rnosuid`, …). */
  attrSet: number;
  attrClear: number;
  /** Filesystem-specific options, comma-joined. */
  data: string;
  /** True for `bind` / `rbind`. */
  bind: boolean;
  /** `idmap` (this mount) or `ridmap` (and every mount below it); absent otherwise. */
  idmap?: "idmap" | "ridmap";
}

const FLAG_OPTIONS: Record<string, { clear: boolean; flag: number }> = {
  acl: { clear: false, flag: 0 },
  async: { clear: true, flag: MS.SYNCHRONOUS },
  atime: { clear: true, flag: MS.NOATIME },
  bind: { clear: false, flag: MS.BIND },
  defaults: { clear: false, flag: 0 },
  dev: { clear: true, flag: MS.NODEV },
  diratime: { clear: true, flag: MS.NODIRATIME },
  dirsync: { clear: false, flag: MS.DIRSYNC },
  exec: { clear: true, flag: MS.NOEXEC },
  iversion: { clear: false, flag: MS.I_VERSION },
  lazytime: { clear: false, flag: MS.LAZYTIME },
  loud: { clear: true, flag: MS.SILENT },
  mand: { clear: false, flag: MS.MANDLOCK },
  noacl: { clear: true, flag: 0 },
  noatime: { clear: false, flag: MS.NOATIME },
  nodev: { clear: false, flag: MS.NODEV },
  nodiratime: { clear: false, flag: MS.NODIRATIME },
  noexec: { clear: false, flag: MS.NOEXEC },
  noiversion: { clear: true, flag: MS.I_VERSION },
  nolazytime: { clear: true, flag: MS.LAZYTIME },
  nomand: { clear: true, flag: MS.MANDLOCK },
  norelatime: { clear: true, flag: MS.RELATIME },
  nostrictatime: { clear: true, flag: MS.STRICTATIME },
  nosuid: { clear: false, flag: MS.NOSUID },
  nosymfollow: { clear: false, flag: MS.NOSYMFOLLOW },
  rbind: { clear: false, flag: MS.BIND | MS.REC },
  relatime: { clear: false, flag: MS.RELATIME },
  remount: { clear: false, flag: MS.REMOUNT },
  ro: { clear: false, flag: MS.RDONLY },
  rw: { clear: true, flag: MS.RDONLY },
  silent: { clear: false, flag: MS.SILENT },
  strictatime: { clear: false, flag: MS.STRICTATIME },
  suid: { clear: true, flag: MS.NOSUID },
  symfollow: { clear: true, flag: MS.NOSYMFOLLOW },
  sync: { clear: false, flag: MS.SYNCHRONOUS },
};

const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

const RECURSIVE_OPTIONS: Record<string, { clear: boolean; attr: number }> = {
  rro: { clear: false, attr: MOUNT_ATTR.RDONLY },
  rrw: { clear: true, attr: MOUNT_ATTR.RDONLY },
  rnosuid: { clear: false, attr: MOUNT_ATTR.NOSUID },
  rsuid: { clear: true, attr: MOUNT_ATTR.NOSUID },
  rnodev: { clear: false, attr: MOUNT_ATTR.NODEV },
  rdev: { clear: true, attr: MOUNT_ATTR.NODEV },
  rnoexec: { clear: false, attr: MOUNT_ATTR.NOEXEC },
  rexec: { clear: true, attr: MOUNT_ATTR.NOEXEC },
  rnodiratime: { clear: false, attr: MOUNT_ATTR.NODIRATIME },
  rdiratime: { clear: true, attr: MOUNT_ATTR.NODIRATIME },
  rnosymfollow: { clear: false, attr: MOUNT_ATTR.NOSYMFOLLOW },
  rsymfollow: { clear: true, attr: MOUNT_ATTR.NOSYMFOLLOW },
};

const ATIME_OPTIONS: Record<string, number> = {
  rrelatime: MOUNT_ATTR.RELATIME,
  rnoatime: MOUNT_ATTR.NOATIME,
  rstrictatime: MOUNT_ATTR.STRICTATIME,
};

/** Every option name this module understands (for `features`). */
export const KNOWN_MOUNT_OPTIONS: readonly string[] = [
  ...Object.keys(FLAG_OPTIONS),
  ...Object.keys(PROPAGATION_OPTIONS),
  ...Object.keys(RECURSIVE_OPTIONS),
  ...Object.keys(ATIME_OPTIONS),
  "rnorelatime",
  "rnostrictatime",
  "ratime",
  "idmap",
  "ridmap",
].sort();

/** Decodes `options`; `type` "bind" counts as a bind mount, as runc treats it. */
export function parseMountOptions(options: readonly string[] = [], type?: string): MountOptions {
  let flags = 0;
  let attrSet = 0;
  let attrClear = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  let idmap: MountOptions["idmap"];
  for (const opt of options) {
    const f = FLAG_OPTIONS[opt];
    if (f) {
      if (f.clear) flags &= ~f.flag;
      else flags |= f.flag;
      continue;
    }
    const p = PROPAGATION_OPTIONS[opt];
    if (p !== undefined) {
      propagation.push(p);
      continue;
    }
    const r = RECURSIVE_OPTIONS[opt];
    if (r) {
      if (r.clear) {
        attrClear |= r.attr;
        attrSet &= ~r.attr;
      } else {
        attrSet |= r.attr;
        attrClear &= ~r.attr;
      }
      continue;
    }
    const a = ATIME_OPTIONS[opt];
    if (a !== undefined) {
      attrClear |= MOUNT_ATTR.ATIME_MASK;
      attrSet = (attrSet & ~MOUNT_ATTR.ATIME_MASK) | a;
      continue;
    }
    if (opt === "rnorelatime" || opt === "rnostrictatime" || opt === "ratime") {
      continue;
    }
    if (opt === "idmap" || opt === "ridmap") {
      // Never passed to mount(2) (config.md): applied with mount_setattr(MOUNT_ATTR_IDMAP).
      idmap = opt;
      continue;
    }
    data.push(opt);
  }
  if (type === "bind") flags |= MS.BIND;
  const out: MountOptions = {
    flags,
    propagation,
    attrSet,
    attrClear,
    data: data.join(","),
    bind: (flags & MS.BIND) !== 0,
  };
  if (idmap) out.idmap = idmap;
  return out;
}

/** Propagation flags for `linux.rootfsPropagation` (default rslave, as runc). */
export function rootfsPropagationFlags(value: string | undefined): number {
  if (value === undefined || value === "") return MS.SLAVE | MS.REC;
  return PROPAGATION_OPTIONS[value] ?? MS.SLAVE | MS.REC;
}
