/**
 * Packs one path of a tree as `docker cp` and `GET /containers/{id}/archive` send it: the path
 * itself under a chosen name (a file alone, or a directory followed by its contents under
 * `name/`), with the same headers, hard links and order as {@link packDirectory}.
 */
import { lstatSync, readlinkSync } from "node:fs";
import type { Readable } from "node:stream";
import { LayerError } from "./error.js";
import { HardLinkTracker, type PackOptions, writeEntryFor } from "./pack.js";
import { type EntryKind, type ScannedEntry, scanTree } from "./scan.js";
import { type WriteEntry, writeTar } from "./tar-writer.js";

function kindOf(path: string): { kind: EntryKind; entry: Omit<ScannedEntry, "rel"> } {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat) throw new LayerError("INVALID_SOURCE", `${path} does not exist`);
  const kind: EntryKind | undefined = stat.isFile()
    ? "file"
    : stat.isDirectory()
      ? "dir"
      : stat.isSymbolicLink()
        ? "symlink"
        : stat.isFIFO()
          ? "fifo"
          : stat.isCharacterDevice()
            ? "char"
            : stat.isBlockDevice()
              ? "block"
              : undefined;
  if (!kind) throw new LayerError("INVALID_SOURCE", `${path} is a socket: it cannot be put in a tar`);
  return {
    kind,
    entry: { kind, stat, xattrs: new Map(), ...(kind === "symlink" ? { target: readlinkSync(path) } : {}) },
  };
}

/** `name` joined to an entry path (`./x` under `.`, as Docker's rebase writes them). Pure. */
function prefixed(name: string, rel: string): string {
  return name.endsWith("/") ? `${name}${rel}` : `${name}/${rel}`;
}

/**
 * A tar of the host path `path` (not followed when it is a symlink) named `name` in the tar: a
 * non-directory is one entry; a directory is its own entry then its contents, each under
 * `name/`. Synchronous tree walk: run it off a daemon's
 * event loop ({@link packStream}).
 */
export async function packPath(path: string, name: string, options: PackOptions = {}): Promise<Readable> {
  const top = kindOf(path);
  const links = new HardLinkTracker();
  const rootEntry = writeEntryFor(
    path.slice(0, path.lastIndexOf("/")) || "/",
    {
      ...top.entry,
      rel: path.slice(path.lastIndexOf("/") + 1),
    },
    links,
    options,
  );
  rootEntry.header.name = name;
  if (top.kind !== "dir") return writeTar([rootEntry]);
  const tree = await scanTree(path, { xattrs: options.xattrs !== false });
  const entries: WriteEntry[] = [rootEntry];
  for (const e of tree.entries) {
    const w = writeEntryFor(path, e, links, options);
    w.header.name = prefixed(name, e.rel);
    if (w.header.type === "link") w.header.linkname = prefixed(name, w.header.linkname);
    entries.push(w);
  }
  return writeTar(entries);
}
