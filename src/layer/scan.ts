/**
 * Walks a directory tree into a sorted list of entries with their metadata: the input of pack
 * and diff. Synchronous fs calls on purpose: for tens of thousands of small lstat/readdir calls
 * they are several times faster than the thread-pool round trips of the async API.
 */
import { lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { LayerError } from "./error.js";
import { readTreeXattrs, type Xattrs } from "./xattr.js";

/** The kinds of filesystem objects a layer can carry (sockets are skipped, as tar does). */
export type EntryKind = "file" | "dir" | "symlink" | "fifo" | "char" | "block";

/** One path of a scanned tree. */
export interface ScannedEntry {
  /** Path relative to the root, `/`-separated, never empty. */
  rel: string;
  kind: EntryKind;
  stat: Stats;
  /** Symlink target (symlinks only). */
  target?: string;
  /** Extended attributes (empty when none). */
  xattrs: Xattrs;
}

/** A scanned tree: sorted entries and a lookup by path. */
export interface ScannedTree {
  root: string;
  /** Entries sorted bytewise by `rel` (so a directory precedes its contents). */
  entries: ScannedEntry[];
  byPath: Map<string, ScannedEntry>;
}

/** Options of {@link scanTree}. */
export interface ScanOptions {
  /** Read extended attributes (one getfattr per tree). Default true. */
  xattrs?: boolean;
}

const NO_XATTRS: Xattrs = new Map();

function kindOf(st: Stats): EntryKind | undefined {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isFIFO()) return "fifo";
  if (st.isCharacterDevice()) return "char";
  if (st.isBlockDevice()) return "block";
  return undefined;
}

/** Bytewise (UTF-8) order, which is the order tar entries are written in. */
export function compareBytewise(a: string, b: string): number {
  // UTF-16 order equals UTF-8 byte order except around surrogates; fall back only then.
  for (let i = 0; i < a.length && i < b.length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 || y >= 0xd800) return Buffer.compare(Buffer.from(a.slice(i)), Buffer.from(b.slice(i)));
      return x - y;
    }
  }
  return a.length - b.length;
}

/**
 * Scans `root` (which must be a directory). Symlinks are never followed. Throws `LayerError`
 * `INVALID_SOURCE` when `root` is not a directory.
 */
export async function scanTree(root: string, options: ScanOptions = {}): Promise<ScannedTree> {
  const rootStat = lstatSync(root, { throwIfNoEntry: false });
  if (!rootStat?.isDirectory()) throw new LayerError("INVALID_SOURCE", `${root} is not a directory`);
  const attrs = options.xattrs === false ? new Map<string, Xattrs>() : await readTreeXattrs(root);
  const entries: ScannedEntry[] = [];
  const stack: string[] = [""];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    const host = dir === "" ? root : `${root}/${dir}`;
    let names: string[];
    try {
      names = readdirSync(host);
    } catch (err) {
      throw new LayerError("INVALID_SOURCE", `cannot read directory ${host}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    for (const name of names) {
      const rel = dir === "" ? name : `${dir}/${name}`;
      const stat = lstatSync(`${root}/${rel}`);
      const kind = kindOf(stat);
      if (!kind) continue;
      const entry: ScannedEntry = { rel, kind, stat, xattrs: attrs.get(rel) ?? NO_XATTRS };
      if (kind === "symlink") entry.target = readlinkSync(`${root}/${rel}`);
      if (kind === "dir") stack.push(rel);
      entries.push(entry);
    }
  }
  entries.sort((a, b) => compareBytewise(a.rel, b.rel));
  return { root, entries, byPath: new Map(entries.map((e) => [e.rel, e])) };
}
