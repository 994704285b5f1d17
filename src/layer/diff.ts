/**
 * Diffs two directory trees into a layer: what was added or changed in `upper`, a `.wh.<name>`
 * whiteout for each path removed from `lower` (only the topmost removed path), and an opaque
 * whiteout `.wh..wh..opq` for a directory that was emptied and refilled (every lower child
 * gone). Sorted and reproducible exactly as {@link packDirectory}.
 */

import { readFileSync } from "node:fs";
import type { Readable } from "node:stream";
import { HardLinkTracker, type PackOptions, whiteoutHeader, writeEntryFor } from "./pack.js";
import { compareBytewise, type ScannedEntry, type ScannedTree, scanTree } from "./scan.js";
import type { WriteEntry } from "./tar-writer.js";
import { writeTar } from "./tar-writer.js";
import { opaquePathFor, whiteoutPathFor } from "./whiteout.js";
import type { Xattrs } from "./xattr.js";

/** Options of {@link diffDirectories}. */
export interface DiffOptions extends PackOptions {
  /** Compare file contents when size and mtime are equal (default false: metadata decides). */
  compareContent?: boolean;
}

/** One change between two trees. */
export type Change =
  | { kind: "add" | "modify"; path: string; entry: ScannedEntry }
  | { kind: "delete"; path: string }
  | { kind: "opaque"; path: string };

function sameXattrs(a: Xattrs, b: Xattrs): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w?.equals(v)) return false;
  }
  return true;
}

/** True when `u` differs from `l` in anything a layer records. Content only when asked. */
export function entryChanged(
  l: ScannedEntry,
  u: ScannedEntry,
  compareContent: boolean,
  lowerRoot = "",
  upperRoot = "",
): boolean {
  const a = l.stat;
  const b = u.stat;
  if (l.kind !== u.kind || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return true;
  if (!sameXattrs(l.xattrs, u.xattrs)) return true;
  switch (u.kind) {
    case "dir":
      // Re-emitted when entries were added or removed in it, so its mtime survives the apply.
      return a.mtimeMs !== b.mtimeMs;
    case "symlink":
      return l.target !== u.target || a.mtimeMs !== b.mtimeMs;
    case "char":
    case "block":
      return a.rdev !== b.rdev;
    case "fifo":
      return a.mtimeMs !== b.mtimeMs;
    case "file":
      if (a.size !== b.size || a.mtimeMs !== b.mtimeMs) return true;
      return (
        compareContent && !readFileSync(`${lowerRoot}/${l.rel}`).equals(readFileSync(`${upperRoot}/${u.rel}`))
      );
  }
}

function childrenOf(tree: ScannedTree): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of tree.entries) {
    const i = e.rel.lastIndexOf("/");
    const parent = i === -1 ? "" : e.rel.slice(0, i);
    let list = out.get(parent);
    if (!list) {
      list = [];
      out.set(parent, list);
    }
    list.push(e.rel);
  }
  return out;
}

/**
 * The changes that turn `lower` into `upper`, sorted bytewise by the tar path each becomes.
 * Pure over two scanned trees (content comparison aside).
 */
export function computeChanges(lower: ScannedTree, upper: ScannedTree, options: DiffOptions = {}): Change[] {
  const changes: Change[] = [];
  const lowerChildren = childrenOf(lower);
  const opaque = new Set<string>();
  const upperChildren = childrenOf(upper);
  // A directory present in both whose every lower child is gone and that has new children was
  // emptied and refilled: one opaque marker instead of a whiteout per old child.
  for (const [dir, kids] of lowerChildren) {
    if (dir === "") continue;
    const u = upper.byPath.get(dir);
    if (u?.kind !== "dir" || lower.byPath.get(dir)?.kind !== "dir") continue;
    if (kids.every((k) => !upper.byPath.has(k)) && (upperChildren.get(dir)?.length ?? 0) > 0) opaque.add(dir);
  }
  const underOpaque = (p: string): boolean => {
    for (let i = p.lastIndexOf("/"); i !== -1; i = p.lastIndexOf("/", i - 1))
      if (opaque.has(p.slice(0, i))) return true;
    return false;
  };
  for (const dir of opaque) changes.push({ kind: "opaque", path: dir });
  for (const e of lower.entries) {
    if (upper.byPath.has(e.rel)) continue;
    const i = e.rel.lastIndexOf("/");
    const parent = i === -1 ? "" : e.rel.slice(0, i);
    // Only the topmost removed path needs a whiteout, and none below an opaque directory.
    if (
      parent !== "" &&
      (!upper.byPath.has(parent) ||
        upper.byPath.get(parent)?.kind !== "dir" ||
        lower.byPath.get(parent)?.kind !== "dir")
    )
      continue;
    if (underOpaque(e.rel)) continue;
    changes.push({ kind: "delete", path: e.rel });
  }
  for (const e of upper.entries) {
    const l = lower.byPath.get(e.rel);
    if (!l) changes.push({ kind: "add", path: e.rel, entry: e });
    else if (
      opaque.has(e.rel) ||
      underOpaque(e.rel) ||
      entryChanged(l, e, options.compareContent === true, lower.root, upper.root)
    ) {
      changes.push({ kind: "modify", path: e.rel, entry: e });
    }
  }
  // Like containerd, every changed path's parent directories go in too, so their metadata
  // (mtime above all, which the apply itself disturbs) ends up as in `upper`.
  const emitted = new Set(changes.filter((c) => c.kind === "add" || c.kind === "modify").map((c) => c.path));
  for (const c of [...changes]) {
    let p = c.kind === "opaque" ? c.path : c.path.slice(0, Math.max(0, c.path.lastIndexOf("/")));
    while (p !== "" && !emitted.has(p)) {
      const entry = upper.byPath.get(p);
      if (entry?.kind !== "dir") break;
      emitted.add(p);
      changes.push({ kind: "modify", path: p, entry });
      p = p.slice(0, Math.max(0, p.lastIndexOf("/")));
    }
  }
  const tarPath = (c: Change): string =>
    c.kind === "delete" ? whiteoutPathFor(c.path) : c.kind === "opaque" ? opaquePathFor(c.path) : c.path;
  return changes.sort((a, b) => compareBytewise(tarPath(a), tarPath(b)));
}

/**
 * A layer tar holding the changes from `lower` to `upper`. Hard links inside `upper` are kept:
 * a changed path that shares an inode with an earlier upper path becomes a link to it.
 */
export async function diffDirectories(
  lower: string,
  upper: string,
  options: DiffOptions = {},
): Promise<Readable> {
  const withXattrs = options.xattrs !== false;
  const [l, u] = await Promise.all([
    scanTree(lower, { xattrs: withXattrs }),
    scanTree(upper, { xattrs: withXattrs }),
  ]);
  const changes = computeChanges(l, u, options);
  const links = new HardLinkTracker();
  // Every upper path counts for hard links, emitted or not, so a new link to an unchanged file works.
  const emitted = new Set(changes.filter((c) => c.kind === "add" || c.kind === "modify").map((c) => c.path));
  for (const e of u.entries) if (!emitted.has(e.rel)) links.remember(e, e.rel);
  const entries: WriteEntry[] = changes.map((c) => {
    if (c.kind === "delete") return { header: whiteoutHeader(whiteoutPathFor(c.path), options) };
    if (c.kind === "opaque") return { header: whiteoutHeader(opaquePathFor(c.path), options) };
    return writeEntryFor(upper, c.entry, links, options);
  });
  return writeTar(entries);
}
