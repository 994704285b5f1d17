/**
 * Applies a layer (a tar changeset, possibly compressed) onto a directory with the semantics
 * of umoci and containerd: every entry type, owners, modes, mtimes, xattrs, `.wh.` whiteouts,
 * `.wh..wh..opq` opaque directories, hard links, later entries replacing earlier ones.
 *
 * Security: nothing is ever written outside the root.
 * - An entry name is normalised with the root as `/`: a leading `/` is dropped; a `..` that
 *   would climb above the root is refused (`PATH_ESCAPE`).
 * - Intermediate symlinks are followed inside the root (`a -> /etc` then `a/passwd` writes
 *   `<root>/etc/passwd`), as image-spec allows; a loop is refused (`SYMLINK_LOOP`).
 * - The last component is never followed: whatever is there is replaced (files are opened
 *   `O_CREAT|O_EXCL|O_NOFOLLOW`).
 * - A hard link's target is resolved the same way and must exist (`LINK_TARGET_MISSING`).
 * - Device nodes need root (`DEVICE_NOT_PERMITTED`).
 * TOCTOU within one apply is handled by doing all filesystem work in order on one thread
 * (synchronous calls) and by forgetting every cached resolution and deferred action under a
 * path the moment a directory or symlink there is removed or replaced. The destination must
 * not be modified by anyone else during the apply.
 *
 * On failure the destination may hold part of the layer: apply into a fresh directory (a
 * snapshot) and discard it on error. Nothing outside it is touched in any case.
 */
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  ftruncateSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import type { Readable } from "node:stream";
import { isErrno } from "../errors.js";
import { type Digest, Digester, DigestStream } from "../oci/digest.js";
import type { Compression } from "../oci/media-types.js";
import { decompress } from "./compression.js";
import { declaredCompression } from "./declared-compression.js";
import { decompressFileInThread, type ThreadedTar } from "./decompress-thread.js";
import { LayerError } from "./error.js";
import { normalizeEntryPath, resolveInRoot } from "./resolve.js";
import type { SparseMap } from "./sparse.js";
import type { TarHeader } from "./tar-header.js";
import { readTar, type TarEntry } from "./tar-reader.js";
import { OPAQUE_WHITEOUT, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX } from "./whiteout.js";
import { restoreXattrs, type Xattrs } from "./xattr.js";

/** Options of {@link applyLayer}. */
export interface ApplyOptions {
  /** Media type of the blob; decides the compression (checked against the magic bytes). */
  mediaType?: string;
  /** Compression when no media type is given (default `none`). */
  compression?: Compression;
  /** The layer's diff_id; a different digest of the uncompressed tar fails the apply. */
  expectedDiffId?: Digest;
  /** Set owners from the layer (default: unless rootless). */
  sameOwner?: boolean;
  /**
   * Apply as an unprivileged user would (default: when not running as root, like umoci's
   * `--rootless`): device nodes are refused with `DEVICE_NOT_PERMITTED`, owners are not set,
   * only `user.*` xattrs are.
   */
  rootless?: boolean;
  /** Set extended attributes (default true). Without root only `user.*` ones are set. */
  xattrs?: boolean;
  /**
   * What whiteouts become. `remove` (default): the whited-out paths are deleted, for applying
   * layers on top of each other in one directory. `overlay`: the layer is applied alone into
   * an empty directory that will be an overlayfs lower layer; `.wh.x` becomes the character
   * device 0/0 `x` and `.wh..wh..opq` the xattr `trusted.overlay.opaque=y` (needs root).
   * `literal`: the tar is plain files, not a layer (`docker cp`): a `.wh.x` entry is a file
   * of that name, as Docker's untar makes it.
   */
  whiteouts?: "remove" | "overlay" | "literal";
  /**
   * Refuse (`APPLY_FAILED`) to replace an existing directory with a non-directory or the
   * reverse, instead of replacing it (Docker's `noOverwriteDirNonDir` of `docker cp`).
   */
  noOverwriteDirNonDir?: boolean;
}

/** What an apply did. */
export interface ApplyStats {
  /** sha256 of the uncompressed tar. */
  diffId: Digest;
  /** Bytes of uncompressed tar read. */
  tarBytes: number;
  entries: number;
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  devices: number;
  whiteouts: number;
  opaques: number;
  /** Bytes of file content written. */
  fileBytes: number;
}

const OPEN_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Deferred metadata of a directory: set after its contents are in place. */
interface DirMeta {
  header: TarHeader;
}

class Applier {
  readonly stats: Omit<ApplyStats, "diffId" | "tarBytes"> = {
    entries: 0,
    files: 0,
    dirs: 0,
    symlinks: 0,
    hardlinks: 0,
    devices: 0,
    whiteouts: 0,
    opaques: 0,
    fileBytes: 0,
  };
  /** Entry paths (and their ancestors) this layer has put in place. */
  private readonly inLayer = new Set<string>();
  /** Parent directory (entry path) -> host path, for directories known to exist as real dirs. */
  private readonly dirCache = new Map<string, string>();
  /**
   * Group of directories (host path) as this apply left or found them, to know the group a
   * file created there gets (see {@link fileMeta}); absent where not known.
   */
  private readonly dirGroup = new Map<string, number>();
  /** The ids a file created by this thread gets as its owner (and group, see dirGroup). */
  private readonly euid = process.geteuid?.() ?? -1;
  private readonly egid = process.getegid?.() ?? -1;
  private readonly dirMeta = new Map<string, DirMeta>();
  private readonly xattrs = new Map<string, Xattrs>();
  /** Times of pre-existing directories this layer changes without an entry of its own (umoci keeps them). */
  private readonly keepTimes = new Map<string, { atime: number; mtime: number }>();
  private readonly isRoot: boolean;
  private readonly sameOwner: boolean;
  private readonly withXattrs: boolean;
  private readonly overlay: boolean;
  private readonly literal: boolean;
  private readonly keepKinds: boolean;

  constructor(
    private readonly root: string,
    options: ApplyOptions,
  ) {
    this.isRoot = options.rootless === undefined ? process.getuid?.() === 0 : !options.rootless;
    this.sameOwner = options.sameOwner ?? this.isRoot;
    this.withXattrs = options.xattrs !== false;
    this.overlay = options.whiteouts === "overlay";
    this.literal = options.whiteouts === "literal";
    this.keepKinds = options.noOverwriteDirNonDir === true;
  }

  private fail(entry: string, err: unknown): never {
    if (err instanceof LayerError) throw err;
    throw new LayerError(
      "APPLY_FAILED",
      `applying entry ${JSON.stringify(entry)}: ${(err as Error).message}`,
      {
        cause: err,
        detail: { entry },
      },
    );
  }

  /**
   * Forgets cached resolutions and deferred work at or under a host path (and an entry path)
   * that is going away. The host-path sweep is what keeps a later write from passing through a
   * directory that has since become a symlink.
   */
  private invalidate(host: string, path: string): void {
    const under = `${host}/`;
    const pathUnder = `${path}/`;
    for (const [k, v] of this.dirCache) {
      if (v === host || v.startsWith(under) || k === path || k.startsWith(pathUnder)) this.dirCache.delete(k);
    }
    for (const k of this.dirMeta.keys()) if (k === host || k.startsWith(under)) this.dirMeta.delete(k);
    for (const k of this.dirGroup.keys()) if (k === host || k.startsWith(under)) this.dirGroup.delete(k);
    for (const k of this.xattrs.keys()) if (k === host || k.startsWith(under)) this.xattrs.delete(k);
    for (const k of this.keepTimes.keys()) if (k === host || k.startsWith(under)) this.keepTimes.delete(k);
  }

  /**
   * Removes whatever is at `host` (entry path `path`), not following a symlink there, to put a
   * directory (`newIsDir`) or something else in its place.
   */
  private removeExisting(host: string, path: string, newIsDir = false): void {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(host, { throwIfNoEntry: false });
    } catch (err) {
      if (isErrno(err, "ENOTDIR")) return;
      throw err;
    }
    if (!st) return;
    if (this.keepKinds && st.isDirectory() !== newIsDir)
      throw new LayerError(
        "APPLY_FAILED",
        newIsDir
          ? `cannot overwrite non-directory ${JSON.stringify(`/${path}`)} with directory`
          : `cannot overwrite directory ${JSON.stringify(`/${path}`)} with non-directory`,
        { detail: { entry: path } },
      );
    if (st.isDirectory()) {
      this.invalidate(host, path);
      rmSync(host, { recursive: true, force: true });
    } else {
      if (st.isSymbolicLink()) this.invalidate(host, path);
      unlinkSync(host);
    }
  }

  private markInLayer(path: string): void {
    let p = path;
    while (p !== "" && !this.inLayer.has(p)) {
      this.inLayer.add(p);
      const i = p.lastIndexOf("/");
      p = i === -1 ? "" : p.slice(0, i);
    }
  }

  /** Host path of directory `dir` (entry path), created (0755) if missing, never through an escape. */
  private directory(dir: string): string {
    const cached = this.dirCache.get(dir);
    if (cached !== undefined) return cached;
    const host = resolveInRoot(this.root, dir, { followFinal: true });
    if (host !== this.root) {
      const st = lstatSync(host, { throwIfNoEntry: false });
      if (!st) mkdirSync(host, { recursive: true, mode: 0o755 });
      else if (!st.isDirectory())
        throw new LayerError("APPLY_FAILED", `${JSON.stringify(dir)} is not a directory`);
      else {
        this.keepTimesOf(host, st);
        this.dirGroup.set(host, st.gid);
      }
    } else {
      const st = lstatSync(host);
      this.keepTimesOf(host, st);
      this.dirGroup.set(host, st.gid);
    }
    this.dirCache.set(dir, host);
    return host;
  }

  private keepTimesOf(host: string, st: { atimeMs: number; mtimeMs: number }): void {
    if (!this.keepTimes.has(host))
      this.keepTimes.set(host, { atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 });
  }

  /**
   * Applies one entry: synchronously, except a file whose body streams in (a large or sparse
   * one), for which it returns the promise of its end. No promise for the rest saves the
   * microtask turns of an `await` per small file.
   */
  entry(e: TarEntry): Promise<void> | undefined {
    const h = e.header;
    const path = normalizeEntryPath(h.name);
    this.stats.entries++;
    const slash = path.lastIndexOf("/");
    const parent = slash === -1 ? "" : path.slice(0, slash);
    const base = slash === -1 ? path : path.slice(slash + 1);
    try {
      if (path === "") {
        if (h.type !== "dir")
          throw new LayerError(
            "PATH_ESCAPE",
            `entry ${JSON.stringify(h.name)} would replace the root with a ${h.type}`,
          );
        this.dirMeta.set(this.root, { header: h });
        return;
      }
      if (base.startsWith(WHITEOUT_PREFIX) && !this.literal) {
        this.whiteout(parent, base);
        return;
      }
      const dirHost = this.directory(parent);
      const host = `${dirHost}/${base}`;
      switch (h.type) {
        case "dir":
          this.mkdir(host, path, h);
          break;
        case "file":
          if (h.sparse || e.chunks)
            return this.streamedFile(host, dirHost, path, h, e).then(
              () => this.placed(host, path, h),
              (err: unknown) => this.fail(h.name, err),
            );
          this.file(host, dirHost, path, h, e.data);
          break;
        case "symlink":
          this.replaceWith(host, path, () => symlinkSync(h.linkname, host));
          this.owner(host, h);
          lutimesSync(host, h.mtime, h.mtime);
          this.stats.symlinks++;
          break;
        case "link":
          this.hardlink(host, path, h);
          break;
        case "char":
        case "block":
        case "fifo":
          this.device(host, path, h);
          break;
      }
      this.placed(host, path, h);
    } catch (err) {
      this.fail(h.name, err);
    }
  }

  /** Records an entry put in place at `host`: it is this layer's, and its xattrs are due. */
  private placed(host: string, path: string, h: TarHeader): void {
    this.markInLayer(path);
    if (this.withXattrs && h.xattrs.size > 0 && h.type !== "link")
      this.xattrs.set(host, this.allowedXattrs(h.xattrs));
  }

  private addXattrs(host: string, x: Xattrs): void {
    const existing = this.xattrs.get(host);
    this.xattrs.set(host, existing ? new Map([...existing, ...x]) : x);
  }

  private allowedXattrs(x: Xattrs): Xattrs {
    if (this.isRoot) return x;
    return new Map([...x].filter(([k]) => k.startsWith("user.")));
  }

  private whiteout(parent: string, base: string): void {
    if (this.overlay) {
      this.overlayWhiteout(parent, base);
      return;
    }
    const dirHost = resolveInRoot(this.root, parent, { followFinal: true });
    const st = lstatSync(dirHost, { throwIfNoEntry: false });
    if (st?.isDirectory()) this.keepTimesOf(dirHost, st);
    if (base === OPAQUE_WHITEOUT) {
      this.stats.opaques++;
      if (st?.isDirectory()) this.clearLower(parent, dirHost);
      else if (!st) {
        // The marker implies its directory, as a tar member implies its parents.
        this.directory(parent);
        this.markInLayer(parent);
      }
      return;
    }
    const hidden = this.whiteoutTarget(parent, base);
    if (hidden) this.removeExisting(`${dirHost}/${hidden.name}`, hidden.target);
  }

  /**
   * The file a `.wh.<name>` marker in `parent` hides, counting it as a whiteout; `undefined`
   * for aufs metadata and for a file of this layer (whiteouts hide only lower layers' files).
   * Throws `PATH_ESCAPE` for a marker that names no file.
   */
  private whiteoutTarget(parent: string, base: string): { name: string; target: string } | undefined {
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return undefined; // aufs metadata (.wh..wh.plnk etc.)
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === "" || name === "." || name === "..") {
      throw new LayerError("PATH_ESCAPE", `whiteout ${JSON.stringify(`${parent}/${base}`)} names no file`);
    }
    const target = parent === "" ? name : `${parent}/${name}`;
    this.stats.whiteouts++;
    return this.inLayer.has(target) ? undefined : { name, target };
  }

  /** Whiteouts in overlayfs form, for a layer applied alone as an overlay lower directory. */
  private overlayWhiteout(parent: string, base: string): void {
    const dirHost = this.directory(parent);
    if (base === OPAQUE_WHITEOUT) {
      this.stats.opaques++;
      if (!this.isRoot)
        throw new LayerError(
          "DEVICE_NOT_PERMITTED",
          "overlay opaque directories (trusted.* xattrs) need root",
        );
      this.addXattrs(dirHost, new Map([[OVERLAY_OPAQUE_XATTR, Buffer.from("y")]]));
      return;
    }
    const hidden = this.whiteoutTarget(parent, base);
    if (!hidden) return;
    const { name, target } = hidden;
    const h: TarHeader = {
      name: target,
      type: "char",
      mode: 0,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 0,
      linkname: "",
      devmajor: 0,
      devminor: 0,
      xattrs: new Map(),
    };
    this.device(`${dirHost}/${name}`, target, h);
    this.stats.devices--;
  }

  /** Opaque directory: removes every child that did not come from this layer, recursively. */
  private clearLower(dir: string, dirHost: string): void {
    for (const name of readdirSync(dirHost)) {
      const rel = dir === "" ? name : `${dir}/${name}`;
      const host = `${dirHost}/${name}`;
      if (!this.inLayer.has(rel)) {
        this.removeExisting(host, rel);
        continue;
      }
      const st = lstatSync(host);
      if (st.isDirectory()) this.clearLower(rel, host);
    }
  }

  /** Creates something at `host` with `create`, first removing whatever is already there. */
  private replaceWith(host: string, path: string, create: () => void): void {
    try {
      create();
    } catch (err) {
      if (!isErrno(err, "EEXIST")) throw err;
      this.removeExisting(host, path);
      create();
    }
  }

  private owner(host: string, h: TarHeader): void {
    if (this.sameOwner) lchownSync(host, h.uid, h.gid);
  }

  private mkdir(host: string, path: string, h: TarHeader): void {
    const st = lstatSync(host, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) this.removeExisting(host, path, true);
    if (!st?.isDirectory()) mkdirSync(host, { mode: 0o700 });
    this.owner(host, h);
    if (this.sameOwner) this.dirGroup.set(host, h.gid);
    else this.dirGroup.delete(host);
    this.dirMeta.set(host, { header: h });
    this.dirCache.set(path, host);
    this.stats.dirs++;
  }

  /** A regular file whose body (if any) is in memory. */
  private file(host: string, dirHost: string, path: string, h: TarHeader, data: Buffer | undefined): void {
    const fd = this.createFile(host, path);
    try {
      if (data) this.writeAll(fd, data);
      this.fileMeta(fd, h, dirHost);
    } finally {
      closeSync(fd);
    }
    this.stats.files++;
    this.stats.fileBytes += h.size;
  }

  /** A regular file whose body streams in, or a sparse one. */
  private async streamedFile(
    host: string,
    dirHost: string,
    path: string,
    h: TarHeader,
    e: TarEntry,
  ): Promise<void> {
    const fd = this.createFile(host, path);
    try {
      if (h.sparse) await this.sparseBody(fd, h.sparse, e);
      else if (e.data) this.writeAll(fd, e.data);
      else if (e.chunks) for await (const chunk of e.chunks) this.writeAll(fd, chunk);
      this.fileMeta(fd, h, dirHost);
    } finally {
      closeSync(fd);
    }
    this.stats.files++;
    this.stats.fileBytes += h.size;
  }

  /** Creates the file at `host` (replacing whatever is there) and returns its descriptor. */
  private createFile(host: string, path: string): number {
    try {
      return openSync(host, OPEN_NEW, 0o600);
    } catch (err) {
      if (!isErrno(err, "EEXIST")) throw err;
      this.removeExisting(host, path);
      return openSync(host, OPEN_NEW, 0o600);
    }
  }

  /**
   * Owner, mode and times of a file just created in `dirHost`. The owner is set unless the file
   * has it already: a new file's owner is this thread's (effective) uid and its group either
   * its gid or, in a set-group-ID directory (or on a file system mounted `grpid`), the
   * directory's; when those two are the same and the layer asks for them, chown would change
   * nothing (GNU tar calls it anyway: one system call per file saved). The file is still 0600
   * then, so no set-id bit is at stake either.
   */
  private fileMeta(fd: number, h: TarHeader, dirHost: string): void {
    if (
      this.sameOwner &&
      !(h.uid === this.euid && h.gid === this.egid && this.dirGroup.get(dirHost) === this.egid)
    )
      fchownSync(fd, h.uid, h.gid);
    // After chown, which clears setuid/setgid.
    fchmodSync(fd, h.mode);
    futimesSync(fd, h.mtime, h.mtime);
  }

  private writeAll(fd: number, data: Buffer, position?: number): void {
    let off = 0;
    while (off < data.length)
      off += writeSync(fd, data, off, data.length - off, position === undefined ? null : position + off);
  }

  /**
   * Writes a sparse file's stored bytes segment by segment at their offsets, then sets the real
   * size: what lies between the segments is never written, so it stays a hole (as GNU tar and
   * Go's archive/tar leave it). The reader checked that the segments hold exactly the body.
   */
  private async sparseBody(fd: number, map: SparseMap, e: TarEntry): Promise<void> {
    let i = 0;
    let done = 0;
    const place = (chunk: Buffer) => {
      let off = 0;
      while (off < chunk.length) {
        const seg = map.segments[i];
        if (!seg) throw new LayerError("INVALID_TAR", "sparse body longer than its map");
        const k = Math.min(seg.length - done, chunk.length - off);
        this.writeAll(fd, chunk.subarray(off, off + k), seg.offset + done);
        off += k;
        done += k;
        if (done === seg.length) {
          i++;
          done = 0;
        }
      }
    };
    if (e.data) place(e.data);
    else if (e.chunks) for await (const chunk of e.chunks) place(chunk);
    ftruncateSync(fd, map.realSize);
  }

  private hardlink(host: string, path: string, h: TarHeader): void {
    const targetPath = normalizeEntryPath(h.linkname);
    if (targetPath === "")
      throw new LayerError("PATH_ESCAPE", `hard link ${JSON.stringify(h.name)} targets the root`);
    const target = resolveInRoot(this.root, targetPath, { followFinal: false });
    const st = lstatSync(target, { throwIfNoEntry: false });
    if (!st) {
      throw new LayerError(
        "LINK_TARGET_MISSING",
        `hard link ${JSON.stringify(h.name)} -> ${JSON.stringify(h.linkname)}: target does not exist in the root`,
        {
          detail: { entry: h.name, target: h.linkname },
        },
      );
    }
    if (st.isDirectory())
      throw new LayerError("APPLY_FAILED", `hard link ${JSON.stringify(h.name)} targets a directory`);
    if (target === host) return;
    this.replaceWith(host, path, () => linkSync(target, host));
    this.stats.hardlinks++;
  }

  private device(host: string, path: string, h: TarHeader): void {
    if (!this.isRoot) {
      throw new LayerError(
        "DEVICE_NOT_PERMITTED",
        `entry ${JSON.stringify(h.name)}: creating ${h.type === "fifo" ? "a fifo" : "a device node"} needs root`,
        {
          detail: { entry: h.name },
        },
      );
    }
    const args =
      h.type === "fifo"
        ? [host, "p"]
        : [host, h.type === "char" ? "c" : "b", String(h.devmajor), String(h.devminor)];
    // Node has no mknod(2); device entries are rare (a handful in /dev), so one process each is fine.
    this.replaceWith(host, path, () => {
      try {
        execFileSync("mknod", ["-m", "0600", "--", ...args], { stdio: ["ignore", "ignore", "pipe"] });
      } catch (err) {
        const stderr = String((err as { stderr?: Buffer }).stderr ?? "");
        if (stderr.includes("File exists")) throw Object.assign(new Error(stderr), { code: "EEXIST" });
        throw new Error(`mknod failed: ${stderr.trim() || (err as Error).message}`);
      }
    });
    this.owner(host, h);
    chmodSync(host, h.mode);
    lutimesSync(host, h.mtime, h.mtime);
    this.stats.devices++;
  }

  /** Deferred work: xattrs (after chown, which clears security.capability), then directory metadata. */
  async finish(): Promise<void> {
    if (this.xattrs.size > 0) await restoreXattrs(this.xattrs);
    for (const [host, t] of this.keepTimes) {
      if (this.dirMeta.has(host) || !lstatSync(host, { throwIfNoEntry: false })?.isDirectory()) continue;
      lutimesSync(host, t.atime, t.mtime);
    }
    for (const [host, { header }] of [...this.dirMeta].reverse()) {
      // The path was ours when recorded and invalidate() dropped it if it went away since;
      // lstat once more so that chmod (which follows symlinks) can never act through one.
      const st = lstatSync(host, { throwIfNoEntry: false });
      if (!st?.isDirectory()) continue;
      if (this.sameOwner) lchownSync(host, header.uid, header.gid);
      chmodSync(host, header.mode);
      lutimesSync(host, header.mtime, header.mtime);
    }
  }
}

/** `root` without trailing slashes, after checking it is a directory. */
function applyRoot(root: string): string {
  const rootStat = lstatSync(root, { throwIfNoEntry: false });
  if (!rootStat?.isDirectory())
    throw new LayerError("APPLY_FAILED", `apply destination ${root} is not a directory`);
  return root.length > 1 ? root.replace(/\/+$/, "") : root;
}

/**
 * Applies the uncompressed tar `tar` onto `base`; `digest` gives its diff_id and size once it
 * has been read to its end (readTar drains it).
 */
async function applyTar(
  base: string,
  tar: AsyncIterable<Uint8Array>,
  digest: () => { digest: Digest; size: number },
  options: ApplyOptions,
): Promise<ApplyStats> {
  const applier = new Applier(base, options);
  for await (const entry of readTar(tar)) {
    const streaming = applier.entry(entry);
    if (streaming) await streaming;
  }
  await applier.finish();
  const { digest: diffId, size } = digest();
  if (options.expectedDiffId && options.expectedDiffId !== diffId) {
    throw new LayerError(
      "DIFF_ID_MISMATCH",
      `layer diff_id is ${diffId}, expected ${options.expectedDiffId}`,
      {
        detail: { expected: options.expectedDiffId, actual: diffId },
      },
    );
  }
  return { ...applier.stats, diffId, tarBytes: size };
}

/**
 * Applies the layer in `source` onto `root` (an existing directory) and returns statistics and
 * the diff_id. The compression comes from `mediaType` (or `compression`) and must match the
 * stream's magic bytes. With `expectedDiffId`, a different digest of the uncompressed tar fails
 * with `LayerError` `DIFF_ID_MISMATCH` (after the apply: use a fresh directory). See the module
 * comment for the security guarantees.
 */
export async function applyLayer(
  root: string,
  source: Readable,
  options: ApplyOptions = {},
): Promise<ApplyStats> {
  const compression = declaredCompression(options);
  const base = applyRoot(root);
  const tar = decompress(source, compression);
  const digest = new DigestStream();
  tar.on("error", (err) => digest.destroy(err));
  tar.pipe(digest);
  try {
    return await applyTar(base, digest, () => ({ digest: digest.digest(), size: digest.size }), options);
  } finally {
    if (!source.destroyed) source.destroy();
  }
}

/**
 * {@link applyLayer} of the layer blob file at `path`, with the reading and decompression on a
 * thread of their own ({@link decompressFileInThread}) running ahead of this one, which parses,
 * writes and digests. Same options, results and errors.
 *
 * Why the diff_id is computed here and not on the decompressing thread: a layer is mostly many
 * small files (where this thread is the slower one: a create, write, chown, chmod, utimes and
 * close per file, while decompression idles at the window's end) and a few large ones (where
 * this thread only writes and the decompressor is the slower one). sha256 on the decompressor
 * lengthened the large files' stretch, where nobody else had work; here it fills time this
 * thread would spend waiting for chunks (bench/layers' 500 MB tree as a zstd layer, 2 cores:
 * the applier waited 0.58-0.71 s for chunks with the digest there, 0.18-0.25 s with it here).
 */
export async function applyLayerFromFile(
  root: string,
  path: string,
  options: ApplyOptions = {},
): Promise<ApplyStats> {
  return applyDecompressed(root, decompressFileInThread(path, declaredCompression(options)), options);
}

/**
 * The rest of {@link applyLayerFromFile} once its decompressing thread runs: for a caller that
 * started that thread itself, earlier (`apply-thread-main.ts`). `tar` is closed in any case.
 */
export async function applyDecompressed(
  root: string,
  tar: ThreadedTar,
  options: ApplyOptions = {},
): Promise<ApplyStats> {
  const digester = new Digester();
  async function* digested(): AsyncGenerator<Buffer> {
    for await (const chunk of tar) {
      digester.update(chunk);
      yield chunk;
    }
  }
  try {
    return await applyTar(
      applyRoot(root),
      digested(),
      () => ({ digest: digester.digest(), size: digester.size }),
      options,
    );
  } finally {
    tar.close();
  }
}
