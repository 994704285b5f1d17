import { type Digest, isDigest } from "../../oci/digest.js";
import { ArchiveError } from "./error.js";

/**
 * The canonical form of a path inside an archive: no leading `./` or `/`, no `.` or empty
 * segments. A `..` segment is refused with `INVALID_ARCHIVE`: archive paths are keys here and never
 * reach the filesystem, but an archive that tries to climb out of itself is not trusted further.
 */
export function normalizeArchivePath(name: string): string {
  const parts: string[] = [];
  for (const seg of name.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..")
      throw new ArchiveError(
        "INVALID_ARCHIVE",
        `archive entry ${JSON.stringify(name)} climbs out of the archive`,
      );
    parts.push(seg);
  }
  return parts.join("/");
}

/**
 * Where a link entry points, as a canonical archive path: a symlink's target is relative to the
 * link's directory, a hard link's to the archive root. Absolute targets and targets outside the
 * archive are refused with `INVALID_ARCHIVE`.
 */
export function linkTarget(linkPath: string, target: string, hard: boolean): string {
  if (target.startsWith("/")) {
    throw new ArchiveError(
      "INVALID_ARCHIVE",
      `archive link ${JSON.stringify(linkPath)} has an absolute target ${JSON.stringify(target)}`,
    );
  }
  const base = hard ? [] : normalizeArchivePath(linkPath).split("/").slice(0, -1);
  for (const seg of target.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (base.length === 0) {
        throw new ArchiveError(
          "INVALID_ARCHIVE",
          `archive link ${JSON.stringify(linkPath)} points outside the archive: ${JSON.stringify(target)}`,
        );
      }
      base.pop();
    } else base.push(seg);
  }
  return base.join("/");
}

/** Follows links (at most 16 hops) from `path` to a regular entry; refuses loops with `INVALID_ARCHIVE`. */
export function resolveLinks(path: string, links: ReadonlyMap<string, string>): string {
  let current = normalizeArchivePath(path);
  for (let hops = 0; hops < 16; hops++) {
    const next = links.get(current);
    if (next === undefined) return current;
    current = next;
  }
  throw new ArchiveError(
    "INVALID_ARCHIVE",
    `archive entry ${JSON.stringify(path)}: too many levels of links`,
  );
}

/**
 * The digest an archive path promises by its name: `blobs/<alg>/<hex>` (OCI layouts and docker 25+)
 * or `<hex>.json` (a config in a docker archive, named by its digest). `undefined` otherwise.
 */
export function digestFromArchivePath(path: string): Digest | undefined {
  const blob = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(path);
  const candidate = blob
    ? `${blob[1]}:${blob[2]}`
    : /^([a-f0-9]{64})\.json$/.exec(path)
      ? `sha256:${path.slice(0, 64)}`
      : undefined;
  return candidate !== undefined && isDigest(candidate) ? candidate : undefined;
}
