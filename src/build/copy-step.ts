/**
 * COPY and ADD into a step's root: Docker's destination rules (a destination ending in `/`, an
 * existing directory or several sources mean "into this directory"; a directory source copies
 * its contents; missing parents are created 0755 root), owners from `--chown` (names looked up
 * in the image's /etc/passwd and /etc/group) else 0:0, modes kept unless `--chmod`, times kept.
 * Every destination path is resolved inside the root (symlinks in the image cannot send a write
 * outside it). ADD extracts a local tar archive (plain, gzip, bzip2, xz, zstd) into the
 * destination directory.
 */
import { chmod, chown, lchown, lstat, mkdir, open, rm, stat, utimes } from "node:fs/promises";
import { dirname, join, posix, relative } from "node:path";
import { applyLayerFile, readTreeXattrs, resolveInRoot, sniffCompression } from "../layer/index.js";
import type { Compression } from "../oci/media-types.js";
import { FILE_CONCURRENCY, mapLimit } from "./concurrency.js";
import type { SourceTree } from "./context.js";
import { type CopyJob, copyFilesOnThread, type LinkJob, linkFilesOnThread } from "./copy-thread.js";
import { BuildError } from "./error.js";
import type { AfterUnmount } from "./rootfs.js";

/** Where COPY --from's links go: the destination in the merged root and in the upper directory. */
interface LinkPlan {
  base: string;
  upperBase: string;
  job: NonNullable<CopyJob["link"]>;
}

/** Who owns copied files, and their mode override. */
export interface CopyOwnership {
  /** Owner of every copied entry; absent: each keeps its source's (COPY --from, as BuildKit). */
  uid?: number;
  gid?: number;
  /** `--chmod` bits, applied to every copied file and directory. */
  mode?: number;
}

/** One COPY/ADD: its sources (matched paths of `tree`) and the absolute destination. */
export interface CopyRequest {
  root: string;
  tree: SourceTree;
  sources: string[];
  dest: string;
  /** True when the destination names a directory (ends with `/` or has several sources). */
  destIsDir: boolean;
  owner: CopyOwnership;
  /** ADD: extract local tar archives. */
  extractArchives: boolean;
  /**
   * What the step's key says each file holds: host path → sha256 of its bytes (hex). A file
   * whose copied bytes differ fails the copy (it changed after the key was computed).
   */
  expected?: ReadonlyMap<string, string>;
  /**
   * COPY --from another stage or an image, without --chown or --chmod: the tree's layer
   * directories (`layers`, top first) and the step's overlay `upper`. A file the view shows
   * unchanged from one of those layers (the same inode, no extended attribute the copy would
   * drop, no second name in the copy) is hard-linked from it into `upper` once the overlay is
   * unmounted, instead of copied through it: no data written, no inode allocated. The layer
   * directories are never written (every later step reads them through an overlay, which copies
   * a file up before changing it), so the shared inode never changes.
   */
  linkFrom?: { layers: readonly string[]; upper: string };
}

/**
 * Performs the copy; resolves with what remains to do once the overlay is unmounted (the hard
 * links of {@link CopyRequest.linkFrom}), if anything.
 */
export async function copyInto(req: CopyRequest): Promise<AfterUnmount | undefined> {
  const destHost = resolveInRoot(req.root, req.dest, { followFinal: true });
  const destExistsAsDir = (await stat(destHost).catch(() => undefined))?.isDirectory() === true;
  // Links only for a single directory source: then no later source can replace a linked path.
  const linking = req.linkFrom !== undefined && req.sources.length === 1;
  for (const src of req.sources) {
    const entries = await req.tree.entries(src);
    if ((await lstat(req.tree.hostOf(src))).isDirectory()) {
      await ensureDir(req.root, req.dest, req.owner, true);
      // Directories first (parents before children), then the rest a few dozen at a time, then
      // the directories' times again (adding files changed them).
      // Every directory below the destination is made a real directory (a symlink there is
      // replaced) before anything is written under it, so plain joins stay inside the root.
      const base = resolveInRoot(req.root, req.dest, { followFinal: true });
      const dirs = entries.filter((e) => e.kind === "dir");
      for (const d of dirs) await placeDir(req, join(base, d.rel), d);
      const others = entries.filter((e) => e.kind !== "dir");
      const link = linking ? await linkPlan(req, base, req.tree.hostOf(src)) : undefined;
      const deferred = await copyFiles(
        req,
        others.map((e) => ({ ...e, to: join(base, e.rel) })),
        link,
      );
      const setDirTimes = (under: string) =>
        mapLimit(dirs, FILE_CONCURRENCY, async (d) => {
          const st = await lstat(d.host);
          await utimes(join(under, d.rel), st.atime, st.mtime);
        });
      if (deferred.length === 0) {
        await setDirTimes(base);
        continue;
      }
      // The links go into the upper directory itself, so after the unmount; then the times of
      // the directories they were made in.
      return async () => {
        await linkFilesOnThread(deferred);
        await setDirTimes(link!.upperBase);
      };
    }
    const file = entries[0]!;
    const compression = req.extractArchives ? await archiveCompression(file.host) : undefined;
    if (compression !== undefined) {
      await ensureDir(req.root, req.dest, req.owner, true);
      // pier's layer applier: members resolve inside the destination, whatever links they hold.
      await applyLayerFile(resolveInRoot(req.root, req.dest, { followFinal: true }), file.host, {
        compression,
      });
      continue;
    }
    const target =
      req.destIsDir || destExistsAsDir ? posix.join(req.dest, posix.basename(src || "/")) : req.dest;
    await ensureDir(req.root, posix.dirname(target), req.owner, false);
    await copyFiles(req, [{ ...file, to: resolveInRoot(req.root, target) }]);
  }
}

/**
 * Where {@link CopyRequest.linkFrom}'s links would go: `base` (the destination, inside the
 * merged root) as a path of the upper directory, with the layers and the files among them that
 * carry extended attributes (which a copy drops: those are copied, so both ways give one layer),
 * looked up under the source directory `srcHost` (a path of the view) in each layer.
 */
async function linkPlan(req: CopyRequest, base: string, srcHost: string): Promise<LinkPlan | undefined> {
  const from = req.linkFrom!;
  const under = relative(req.root, base);
  const srcRel = relative(req.tree.root, srcHost);
  if (under.startsWith("..") || srcRel.startsWith("..")) return undefined;
  const withXattrs: string[] = [];
  for (const layer of from.layers) {
    const dir = join(layer, srcRel);
    // A layer without the source directory holds none of its files.
    if (
      !(await lstat(dir).then(
        (st) => st.isDirectory(),
        () => false,
      ))
    )
      continue;
    for (const [rel, attrs] of await readTreeXattrs(dir))
      if ([...attrs.keys()].some((k) => !k.startsWith("trusted.overlay."))) withXattrs.push(join(dir, rel));
  }
  return {
    base,
    upperBase: join(from.upper, under),
    job: { layers: [...from.layers], viewRoot: req.tree.root, upperRoot: from.upper, withXattrs },
  };
}

/** Copies files and symlinks (each `to` inside the root, its parent an existing directory). */
async function copyFiles(
  req: CopyRequest,
  entries: { host: string; kind: string; to: string }[],
  link?: LinkPlan,
): Promise<LinkJob["links"]> {
  const odd = entries.find((e) => e.kind !== "file" && e.kind !== "symlink");
  if (odd)
    throw new BuildError("UNSUPPORTED", `${odd.host}: only files, directories and symlinks can be copied`);
  return await copyFilesOnThread({
    ...(link ? { link: link.job } : {}),
    entries: entries.map((e) => {
      const expect = e.kind === "file" ? req.expected?.get(e.host) : undefined;
      const upperTo =
        link && e.kind === "file" && e.to.startsWith(`${link.base}/`)
          ? link.upperBase + e.to.slice(link.base.length)
          : undefined;
      return {
        from: e.host,
        to: e.to,
        kind: e.kind as "file" | "symlink",
        ...(expect !== undefined ? { expect } : {}),
        ...(upperTo !== undefined ? { upperTo } : {}),
      };
    }),
    ...(req.tree.hashCache !== undefined ? { hashCache: req.tree.hashCache } : {}),
    ...(req.owner.uid !== undefined ? { uid: req.owner.uid } : {}),
    ...(req.owner.gid !== undefined ? { gid: req.owner.gid } : {}),
    ...(req.owner.mode !== undefined ? { mode: req.owner.mode } : {}),
  });
}

/** Creates `dir` and missing parents (0755 root; the destination itself gets the copy's owner). */
async function ensureDir(root: string, dir: string, owner: CopyOwnership, own: boolean): Promise<void> {
  const parts = posix.normalize(dir).split("/").filter(Boolean);
  for (let k = 1; k <= parts.length; k++) {
    const p = `/${parts.slice(0, k).join("/")}`;
    const host = resolveInRoot(root, p, { followFinal: true });
    const st = await lstat(host).catch(() => undefined);
    if (st?.isDirectory()) continue;
    if (st) throw new BuildError("CONTEXT_PATH", `cannot copy to ${dir}: ${p} exists and is not a directory`);
    await mkdir(host, { mode: 0o755 });
    if (own && k === parts.length && owner.uid !== undefined)
      await chown(host, owner.uid, owner.gid ?? owner.uid);
  }
}

/** Makes the directory `host` (a path inside the root, replacing a non-directory) with `e`'s owner and mode. */
async function placeDir(req: CopyRequest, host: string, e: { host: string }): Promise<void> {
  const st = await lstat(e.host);
  const existing = await lstat(host).catch(() => undefined);
  if (!existing?.isDirectory()) {
    if (existing) await rm(host, { recursive: true, force: true });
    await mkdir(dirname(host), { recursive: true });
    await mkdir(host);
  }
  await lchown(host, req.owner.uid ?? st.uid, req.owner.gid ?? st.gid);
  await chmod(host, req.owner.mode ?? st.mode & 0o7777);
  await utimes(host, st.atime, st.mtime);
}

/**
 * The compression of a tar archive at `path` (`none` for a plain tar), or `undefined` when it is
 * no tar ADD can extract (then it is copied as a file, as Docker does). bzip2 and xz archives are
 * refused: pier's layer codec reads gzip and zstd.
 */
async function archiveCompression(path: string): Promise<Compression | undefined> {
  const fh = await open(path, "r");
  let head: Buffer;
  try {
    head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (head.length >= 262 && head.toString("latin1", 257, 262) === "ustar") return "none";
  const sniffed = sniffCompression(head);
  if (sniffed !== undefined && sniffed !== "none") return sniffed;
  const other = [
    [0x42, 0x5a, 0x68],
    [0xfd, 0x37, 0x7a, 0x58, 0x5a],
  ];
  if (other.some((m) => m.every((b, i) => head[i] === b)))
    throw new BuildError(
      "UNSUPPORTED",
      `ADD ${path}: bzip2 and xz archives are not extracted (gzip, zstd and plain tar are)`,
    );
  return undefined;
}
