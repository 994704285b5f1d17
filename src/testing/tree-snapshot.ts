/**
 * Test fixture: snapshots of a directory tree as comparable text, to check that an unpacked or
 * applied layer produced exactly the expected files (layer and image tests). Not part of the
 * library API.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { devMajor, devMinor } from "../layer/pack.js";

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
