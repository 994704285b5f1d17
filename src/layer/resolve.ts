/**
 * Path resolution confined to a root directory, in the manner of openat2(RESOLVE_IN_ROOT) and
 * Go's securejoin: the root acts as `/` for every symlink followed and for `..`, so no
 * resolution ever names a path outside it.
 */
import { lstatSync, readlinkSync } from "node:fs";
import { LayerError } from "./error.js";

/** Symlinks followed in one resolution before it is refused as a loop (Linux uses 40; Go 255). */
export const MAX_SYMLINKS = 255;

/** What a path is on disk, as far as resolution cares. */
export type PathKind = { kind: "missing" } | { kind: "symlink"; target: string } | { kind: "other" };

/** How resolution looks at the filesystem; injected so the algorithm is testable without disks. */
export type Lookup = (hostPath: string) => PathKind;

/** The real filesystem, not following symlinks. */
export const fsLookup: Lookup = (hostPath) => {
  const st = lstatSync(hostPath, { throwIfNoEntry: false });
  if (!st) return { kind: "missing" };
  if (st.isSymbolicLink()) return { kind: "symlink", target: readlinkSync(hostPath) };
  return { kind: "other" };
};

/** An empty, "." or ".." component (a leading or trailing "/" included), or a NUL byte. */
const UNCLEAN_NAME = /(?:^|\/)\.{0,2}(?:\/|$)|\0/;

/**
 * Normalises a tar entry name (or hard link target) to a clean relative path: leading `/` and
 * `./` are dropped (the root stands for `/`), `.` and empty components vanish, `a/../b` becomes
 * `b`. A `..` that would climb above the root is refused with `LayerError` `PATH_ESCAPE`: such a
 * name has no honest use in a layer. Returns `""` for the root itself.
 */
export function normalizeEntryPath(name: string): string {
  // Most names are clean already (no empty, "." or ".." component, no NUL): returned as they are.
  if (!UNCLEAN_NAME.test(name)) return name;
  const out: string[] = [];
  for (const c of name.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (out.length === 0)
        throw new LayerError("PATH_ESCAPE", `entry ${JSON.stringify(name)} climbs out of the root`, {
          detail: { entry: name },
        });
      out.pop();
      continue;
    }
    if (c.includes("\0"))
      throw new LayerError("PATH_ESCAPE", `entry ${JSON.stringify(name)} contains a NUL byte`, {
        detail: { entry: name },
      });
    out.push(c);
  }
  return out.join("/");
}

/** Options of {@link resolveInRoot}. */
export interface ResolveOptions {
  /** Follow a symlink in the last component too (default false: the link itself is named). */
  followFinal?: boolean;
  /** Filesystem access (default: the real one). */
  lookup?: Lookup;
}

/**
 * Resolves `path` (relative or absolute; either way taken relative to `root`) to a host path
 * inside `root`. Every symlink met in an intermediate component is followed with `root` as
 * `/`: an absolute target restarts at `root`, `..` stops at `root`. The last component is
 * followed only with `followFinal`. Components that do not exist are appended as they are.
 * Throws `LayerError` `SYMLINK_LOOP` after {@link MAX_SYMLINKS} symlinks.
 *
 * Guarantee: the result is `root` or `root/…` with no `..`, and, at the time of the call, no
 * component of it but possibly the last is a symlink.
 */
export function resolveInRoot(root: string, path: string, options: ResolveOptions = {}): string {
  const lookup = options.lookup ?? fsLookup;
  const base = root.length > 1 ? root.replace(/\/+$/, "") : root;
  const resolved: string[] = [];
  let pending = path.split("/");
  let links = 0;
  let missing = false;
  const prefix = base === "/" ? "" : base;
  while (pending.length > 0) {
    const c = pending.shift() as string;
    if (c === "" || c === ".") continue;
    if (c === "..") {
      resolved.pop();
      // Back in territory that may exist: later components must be looked at again.
      missing = false;
      continue;
    }
    const isLast = pending.every((p) => p === "" || p === ".");
    if (missing || (isLast && !options.followFinal)) {
      resolved.push(c);
      continue;
    }
    resolved.push(c);
    const kind = lookup(`${prefix}/${resolved.join("/")}`);
    if (kind.kind === "missing") {
      missing = true;
    } else if (kind.kind === "symlink") {
      resolved.pop();
      if (++links > MAX_SYMLINKS) {
        throw new LayerError(
          "SYMLINK_LOOP",
          `too many levels of symbolic links resolving ${JSON.stringify(path)} inside the root`,
          {
            detail: { path },
          },
        );
      }
      if (kind.target.startsWith("/")) resolved.length = 0;
      pending = [...kind.target.split("/"), ...pending];
    }
  }
  return resolved.length === 0 ? base : `${prefix}/${resolved.join("/")}`;
}
