/**
 * Test fixtures for the layer tests: hand-made tar streams (including hostile ones) and tree
 * snapshots to compare two directories. Not part of the library API.
 */

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { Readable } from "node:stream";
import { devMajor, devMinor } from "./pack.js";
import { BLOCK, encodeHeader, paddingFor, type TarHeader } from "./tar-header.js";

/** A tar entry for {@link tarOf}: header fields (defaults filled in) and an optional body. */
export interface FixtureEntry extends Partial<TarHeader> {
  name: string;
  body?: string | Buffer;
}

/** A complete header with defaults: a 0644 root-owned regular file at mtime 1e9. */
export function header(e: FixtureEntry): TarHeader {
  const { body: raw, ...fields } = e;
  const body = raw === undefined ? undefined : Buffer.from(raw);
  return {
    type: "file",
    mode: e.type === "dir" ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtime: 1_000_000_000,
    linkname: "",
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
    ...fields,
    size: e.size ?? body?.length ?? 0,
  };
}

/** The bytes of an uncompressed tar holding `entries` in the given order. */
export function tarOf(entries: FixtureEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const h = header(e);
    parts.push(encodeHeader(h));
    if (e.body !== undefined) {
      const body = Buffer.from(e.body);
      parts.push(body, Buffer.alloc(paddingFor(body.length)));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** A readable stream of `data`. */
export function streamOf(data: Buffer): Readable {
  return Readable.from([data]);
}

/** Everything a layer records about one path, as a comparable string. */
function describe(root: string, rel: string, attrs: Map<string, string>, withMtime: boolean): string {
  const p = `${root}/${rel}`;
  const st = lstatSync(p);
  const type = st.isFile()
    ? "file"
    : st.isDirectory()
      ? "dir"
      : st.isSymbolicLink()
        ? "symlink"
        : st.isFIFO()
          ? "fifo"
          : st.isCharacterDevice()
            ? "char"
            : st.isBlockDevice()
              ? "block"
              : "other";
  const parts = [rel, type, (st.mode & 0o7777).toString(8), `${st.uid}:${st.gid}`];
  if (withMtime && type !== "symlink") parts.push(`mtime=${Math.floor(st.mtimeMs / 1000)}`);
  if (type === "file")
    parts.push(createHash("sha256").update(readFileSync(p)).digest("hex").slice(0, 16), `nlink=${st.nlink}`);
  if (type === "symlink") parts.push(`-> ${readlinkSync(p)}`);
  if (type === "char" || type === "block") parts.push(`dev=${devMajor(st.rdev)},${devMinor(st.rdev)}`);
  const x = attrs.get(rel);
  if (x) parts.push(x);
  return parts.join(" ");
}

/**
 * A sorted, line-per-path description of the tree under `root` (the root itself excluded):
 * type, mode, owner, mtime (seconds; not for symlinks or when `mtime` is false), content hash,
 * link count, symlink target, device numbers, xattrs (via getfattr).
 */
export function snapshotTree(root: string, options: { mtime?: boolean; xattrs?: boolean } = {}): string[] {
  const attrs = new Map<string, string>();
  if (options.xattrs !== false) {
    const dump = execFileSync(
      "getfattr",
      ["-R", "-P", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", root],
      {
        encoding: "utf8",
      },
    );
    let current = "";
    for (const line of dump.split("\n")) {
      if (line.startsWith("# file: ")) current = line.slice(8 + root.length + 1);
      else if (line !== "" && current !== "") attrs.set(current, `${attrs.get(current) ?? ""}[${line}]`);
    }
  }
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(rel === "" ? root : `${root}/${rel}`).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      out.push(describe(root, r, attrs, options.mtime !== false));
      if (lstatSync(`${root}/${r}`).isDirectory()) walk(r);
    }
  };
  walk("");
  return out;
}
