/**
 * Packs a directory into a reproducible layer tar: entries sorted bytewise, numeric owners
 * with empty user/group names, PAX headers only where ustar cannot hold a value, hard links
 * by inode, xattrs as `SCHILY.xattr.*`, optional fixed mtime (`SOURCE_DATE_EPOCH`).
 */
import type { Readable } from "node:stream";
import { LayerError } from "./error.js";
import { compareBytewise, type EntryKind, type ScannedEntry, scanTree } from "./scan.js";
import type { TarHeader } from "./tar-header.js";
import { type WriteEntry, writeTar } from "./tar-writer.js";
import {
  OVERLAY_OPAQUE_XATTR,
  OVERLAY_XATTR_PREFIX,
  opaquePathFor,
  WHITEOUT_PREFIX,
  whiteoutPathFor,
} from "./whiteout.js";

/** Options shared by pack and diff. */
export interface PackOptions {
  /** Every entry's mtime, in seconds (like `SOURCE_DATE_EPOCH`); default: each file's own. */
  mtime?: number;
  /** Record this uid instead of each file's owner (e.g. for rootless builds). */
  uid?: number;
  /** Record this gid instead of each file's group. */
  gid?: number;
  /** Include extended attributes (default true; needs Debian's `attr`). */
  xattrs?: boolean;
  /**
   * The tree is an overlayfs upper directory (packDirectory only): character devices 0/0 become
   * `.wh.<name>` whiteouts, directories with `trusted.overlay.opaque=y` get `.wh..wh..opq`, and
   * overlayfs's own `trusted.overlay.*` xattrs are dropped.
   */
  overlay?: boolean;
  /**
   * Paths (relative, as `rel`) left out of an overlay pack: what the engine's runtime made as
   * mount points in a container's upper directory (`/etc/hosts` …), which Docker keeps in its
   * init layer, out of commits.
   */
  exclude?: ReadonlySet<string>;
}

/** Major number of a Linux `dev_t` (glibc's gnu_dev_major). */
export function devMajor(rdev: number): number {
  const high = Math.floor(rdev / 2 ** 32);
  return ((rdev >>> 8) & 0xfff) | ((high & 0xfffff000) >>> 0);
}

/** Minor number of a Linux `dev_t` (glibc's gnu_dev_minor). */
export function devMinor(rdev: number): number {
  const high = Math.floor(rdev / 2 ** 32);
  return ((rdev & 0xff) | ((rdev >>> 12) & 0xfff00) | ((high & 0xfff) * 2 ** 20)) >>> 0;
}

const TAR_TYPE: Readonly<Record<EntryKind, TarHeader["type"]>> = {
  file: "file",
  dir: "dir",
  symlink: "symlink",
  fifo: "fifo",
  char: "char",
  block: "block",
};

/**
 * Tracks hard links while entries are emitted in order: the first path seen for an inode is
 * the file, later ones become links to it. Directories never are.
 */
export class HardLinkTracker {
  private readonly seen = new Map<string, string>();

  /** The earlier path `e` is a hard link to, or `undefined` when `e` is the first (or only) one. */
  linkTargetOf(e: ScannedEntry): string | undefined {
    if (e.kind === "dir" || e.stat.nlink < 2) return undefined;
    const key = `${e.stat.dev}:${e.stat.ino}`;
    const first = this.seen.get(key);
    if (first === undefined) this.seen.set(key, e.rel);
    return first;
  }

  /** Records `path` as the first occurrence of `e`'s inode without emitting it. */
  remember(e: ScannedEntry, path: string): void {
    if (e.kind === "dir" || e.stat.nlink < 2) return;
    const key = `${e.stat.dev}:${e.stat.ino}`;
    if (!this.seen.has(key)) this.seen.set(key, path);
  }
}

/** The tar header for a scanned entry; `linkTo` makes it a hard link to that path. Pure. */
export function headerFor(e: ScannedEntry, options: PackOptions, linkTo?: string): TarHeader {
  if (e.rel.startsWith(WHITEOUT_PREFIX) || e.rel.includes(`/${WHITEOUT_PREFIX}`)) {
    throw new LayerError(
      "INVALID_SOURCE",
      `${JSON.stringify(e.rel)}: a name starting with ${WHITEOUT_PREFIX} cannot be put in a layer (it would read as a whiteout)`,
    );
  }
  const st = e.stat;
  const isDevice = e.kind === "char" || e.kind === "block";
  return {
    name: e.rel,
    type: linkTo !== undefined ? "link" : TAR_TYPE[e.kind],
    mode: st.mode & 0o7777,
    uid: options.uid ?? st.uid,
    gid: options.gid ?? st.gid,
    size: linkTo === undefined && e.kind === "file" ? st.size : 0,
    mtime: options.mtime ?? Math.floor(st.mtimeMs / 1000),
    linkname: linkTo ?? e.target ?? "",
    devmajor: isDevice ? devMajor(st.rdev) : 0,
    devminor: isDevice ? devMinor(st.rdev) : 0,
    xattrs: e.xattrs,
  };
}

/** A whiteout header (`.wh.<name>`, or `.wh..wh..opq` for an opaque directory). Pure. */
export function whiteoutHeader(name: string, options: PackOptions): TarHeader {
  return {
    name,
    type: "file",
    mode: 0o644,
    uid: options.uid ?? 0,
    gid: options.gid ?? 0,
    size: 0,
    mtime: options.mtime ?? 0,
    linkname: "",
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
  };
}

/** The write entry for a scanned entry (hard links resolved through `links`). */
export function writeEntryFor(
  root: string,
  e: ScannedEntry,
  links: HardLinkTracker,
  options: PackOptions,
): WriteEntry {
  const linkTo = links.linkTargetOf(e);
  const header = headerFor(e, options, linkTo);
  return header.type === "file" && header.size > 0 ? { header, source: `${root}/${e.rel}` } : { header };
}

function checkOptions(options: PackOptions): void {
  for (const k of ["mtime", "uid", "gid"] as const) {
    const v = options[k];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
      throw new LayerError("INVALID_SOURCE", `pack option ${k} must be a non-negative integer, got ${v}`);
    }
  }
}

/**
 * Packs the contents of `root` (not the root entry itself) into an uncompressed layer tar.
 * Equal trees and options give byte-identical output. Sockets are skipped, as tar skips them.
 */
export async function packDirectory(root: string, options: PackOptions = {}): Promise<Readable> {
  checkOptions(options);
  const tree = await scanTree(root, { xattrs: options.xattrs !== false });
  const links = new HardLinkTracker();
  if (!options.overlay) return writeTar(tree.entries.map((e) => writeEntryFor(root, e, links, options)));
  const entries: WriteEntry[] = [];
  for (const e of tree.entries) {
    if (options.exclude?.has(e.rel)) continue;
    if (e.kind === "char" && e.stat.rdev === 0) {
      entries.push({ header: whiteoutHeader(whiteoutPathFor(e.rel), options) });
      continue;
    }
    const xattrs = new Map([...e.xattrs].filter(([k]) => !k.startsWith(OVERLAY_XATTR_PREFIX)));
    entries.push(writeEntryFor(root, { ...e, xattrs }, links, options));
    if (e.kind === "dir" && e.xattrs.get(OVERLAY_OPAQUE_XATTR)?.toString() === "y") {
      entries.push({ header: whiteoutHeader(opaquePathFor(e.rel), options) });
    }
  }
  return writeTar(entries.sort((a, b) => compareBytewise(a.header.name, b.header.name)));
}
