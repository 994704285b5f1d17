/**
 * A container's files as the host sees them: `docker diff` (its overlay upper directory),
 * `docker cp` both ways (the archive endpoints), `docker export`. Every path a client names is
 * resolved inside the container's root as the layer applier resolves entries (`resolveInRoot`:
 * symlinks followed with the root as `/`, `..` stopping there), or inside the volume or bind
 * source mounted at it; nothing outside is ever read or written. A running container is frozen
 * while its files are walked, read or written ({@link ContainerService.hold}), so none of its
 * processes can swap a checked directory for a symlink in between. Tars are packed on a worker
 * thread and streamed; an uploaded tar is bounded in size, spooled to disk, then applied by the
 * layer applier (same hardening as a layer) on its worker thread.
 */
import type { Stats } from "node:fs";
import { lstat, opendir, readdir, readFile } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import type { ResolvedImage } from "../image/image-store.js";
import { applyLayerFile, LayerError, packStream, resolveInRoot, sniffCompression } from "../layer/index.js";
import type { Digest } from "../oci/digest.js";
import type { ContainerService } from "./containers/service.js";
import type { ContainerRecord } from "./containers/store.js";
import { EngineError } from "./error.js";
import { chainIds } from "./snapshots/plan.js";
import { MAX_UPLOAD_BYTES, spoolUpload, withScratch } from "./uploads.js";

/** Docker's `X-Docker-Container-Path-Stat` document. */
export interface PathStat {
  name: string;
  size: number;
  /** Go's `os.FileMode` bits (the CLI tests `IsDir()` on them). */
  mode: number;
  mtime: string;
  /** Where a symlink leads, resolved inside the container (absolute), else "". */
  linkTarget: string;
}

/** One line of `docker diff`: `Kind` 0 changed, 1 added, 2 deleted. */
export interface ContainerChange {
  Path: string;
  Kind: 0 | 1 | 2;
}

/** Options of {@link ContainerFiles.extract} (Docker's query parameters). */
export interface ExtractOptions {
  /** Refuse to replace a directory with a non-directory or the reverse (`noOverwriteDirNonDir`). */
  noOverwriteDirNonDir?: boolean;
  /** Keep the tar's owners (`copyUIDGID`, `docker cp -a`); otherwise files belong to root. */
  copyUidGid?: boolean;
}

const GO_MODE = {
  dir: 2 ** 31,
  symlink: 2 ** 27,
  device: 2 ** 26,
  namedPipe: 2 ** 25,
  socket: 2 ** 24,
  setuid: 2 ** 23,
  setgid: 2 ** 22,
  charDevice: 2 ** 21,
  sticky: 2 ** 20,
};

/** Go's `os.FileMode` of a stat, as Docker puts it in a path stat. Pure. */
export function goFileMode(st: Pick<Stats, "mode">): number {
  const type = st.mode & 0o170000;
  let m = st.mode & 0o777;
  if (type === 0o040000) m += GO_MODE.dir;
  else if (type === 0o120000) m += GO_MODE.symlink;
  else if (type === 0o020000) m += GO_MODE.device + GO_MODE.charDevice;
  else if (type === 0o060000) m += GO_MODE.device;
  else if (type === 0o010000) m += GO_MODE.namedPipe;
  else if (type === 0o140000) m += GO_MODE.socket;
  if (st.mode & 0o4000) m += GO_MODE.setuid;
  if (st.mode & 0o2000) m += GO_MODE.setgid;
  if (st.mode & 0o1000) m += GO_MODE.sticky;
  return m;
}

/**
 * A client's path as Docker takes it: absolute in the container, clean, but keeping a trailing
 * `/` or `/.` (they mean "the directory itself" and "its contents"). `..` stops at `/`. Pure.
 */
export function containerPath(path: string): string {
  if (path === "") throw new EngineError("INVALID_ARGUMENT", "path cannot be empty");
  if (path.includes("\0")) throw new EngineError("INVALID_ARGUMENT", "path contains a NUL byte");
  const clean = posix.normalize(`/${path}`).replace(/\/+$/, "") || "/";
  const abs = posix.resolve("/", clean);
  if (abs === "/") return "/";
  if (path.endsWith("/.")) return `${abs}/.`;
  if (path.endsWith("/")) return `${abs}/`;
  return abs;
}

/** `filepath.Base` of a container path: the last element, `.` for `dir/.`, `/` for the root. Pure. */
export function baseName(abs: string): string {
  if (abs === "/") return "/";
  if (abs.endsWith("/.")) return ".";
  return posix.basename(abs.replace(/\/$/, ""));
}

/** Where a container path lives on the host: a root (the rootfs or a mount's source) and the path in it. */
interface Located {
  root: string;
  /** The path relative to `root`, with the client's trailing `/` or `/.` kept. */
  rel: string;
  /** The mount target `root` stands for (`/` for the rootfs). */
  mountPoint: string;
  readOnly: boolean;
}

/** Whether the image's layers (top first) have `rel`, a whiteout above it hiding it. */
async function inLower(lowers: readonly string[], rel: string): Promise<boolean> {
  for (const l of lowers) {
    const st = await lstat(join(l, rel)).catch(() => undefined);
    if (st) return !(st.isCharacterDevice() && st.rdev === 0);
  }
  return false;
}

/** Whether the image's topmost `rel` has the owner and mode of `st` (a copied-up directory left as it was). */
async function sameAsLower(lowers: readonly string[], rel: string, st: Stats): Promise<boolean> {
  for (const l of lowers) {
    const lst = await lstat(join(l, rel)).catch(() => undefined);
    if (lst) return lst.mode === st.mode && lst.uid === st.uid && lst.gid === st.gid;
  }
  return false;
}

/**
 * The image `rec` was created from (its manifest, whatever names it has now);
 * `IMAGE_NOT_FOUND` when its content is gone.
 */
export async function containerImage(svc: ContainerService, rec: ContainerRecord): Promise<ResolvedImage> {
  try {
    // The media type is not recorded: the document's own field decides.
    return await svc.images.store.resolveDescriptor({
      mediaType: "application/octet-stream",
      digest: rec.imageId as Digest,
      size: 0,
    });
  } catch (err) {
    throw new EngineError(
      "IMAGE_NOT_FOUND",
      `the image of container ${rec.name} is gone: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** The file operations on containers. */
export class ContainerFiles {
  constructor(private readonly containers: ContainerService) {}

  /** The host directory of `rec`'s root filesystem; `INVALID_STATE` when it is not mounted. */
  private rootOf(rec: ContainerRecord): string {
    const snaps = this.containers.snapshots;
    if (!snaps.isMounted(rec.id))
      throw new EngineError("INVALID_STATE", `the root filesystem of container ${rec.id} is not mounted`);
    return snaps.rootfs(rec.id);
  }

  /**
   * The root that holds container path `abs`: the source of the innermost bind or volume
   * mounted at or above it, else the rootfs. tmpfs mounts live only inside the container: a
   * path in one is refused rather than answered from the rootfs underneath.
   */
  private locate(rec: ContainerRecord, abs: string): Located {
    let best: Located = { root: this.rootOf(rec), rel: abs, mountPoint: "/", readOnly: false };
    const plain = abs.replace(/\/\.?$/, "") || "/";
    for (const m of rec.config.mounts ?? []) {
      const t = posix.normalize(m.target).replace(/\/$/, "");
      if (plain !== t && !plain.startsWith(`${t}/`)) continue;
      if (t.length <= best.mountPoint.length && best.mountPoint !== "/") continue;
      if (m.type === "tmpfs")
        throw new EngineError(
          "INVALID_ARGUMENT",
          `${abs} is on the tmpfs mounted at ${t}, which only the container sees`,
        );
      const root = m.type === "bind" ? m.source : this.containers.volumes.dataPath(m.source);
      best = { root, rel: abs.slice(t.length) || "/", mountPoint: t, readOnly: m.readOnly === true };
    }
    return best;
  }

  /**
   * Docker's `ResolvePath`: the directory part resolved inside the root (symlinks followed),
   * the last element appended as given (a symlink there is the link itself).
   */
  private resolve(loc: Located): string {
    const rel = loc.rel;
    const slash = rel.lastIndexOf("/");
    const dir = rel.slice(0, slash + 1);
    const base = rel.slice(slash + 1);
    const resolvedDir = resolveInRoot(loc.root, dir, { followFinal: true });
    return base === "" ? `${resolvedDir}/` : `${resolvedDir}/${base}`;
  }

  private async statAt(rec: ContainerRecord, abs: string): Promise<{ stat: PathStat; host: string }> {
    const loc = this.locate(rec, abs);
    const host = this.resolve(loc);
    let st: Stats;
    try {
      st = await lstat(host);
    } catch {
      throw new EngineError("NOT_FOUND", `Could not find the file ${abs} in container ${rec.name}`);
    }
    let linkTarget = "";
    if (st.isSymbolicLink()) {
      const full = resolveInRoot(loc.root, loc.rel, { followFinal: true });
      const inside = full.slice(loc.root.replace(/\/+$/, "").length) || "/";
      linkTarget = loc.mountPoint === "/" ? inside : posix.join(loc.mountPoint, inside);
    }
    return {
      host,
      stat: {
        name: baseName(abs),
        size: st.size,
        mode: goFileMode(st),
        mtime: st.mtime.toISOString(),
        linkTarget,
      },
    };
  }

  /** `HEAD /containers/{id}/archive`: the stat of `path` (`NOT_FOUND` when missing). */
  async stat(ref: string, path: string): Promise<PathStat> {
    const rec = this.containers.find(ref);
    const thaw = await this.containers.hold(rec.id);
    try {
      return (await this.statAt(rec, containerPath(path))).stat;
    } finally {
      await thaw();
    }
  }

  /**
   * `GET /containers/{id}/archive`: the stat of `path` and a tar of it, named as its last
   * element (`.` for `dir/.`). The container stays frozen until the tar ends or is destroyed.
   */
  async archive(ref: string, path: string): Promise<{ stat: PathStat; tar: Readable }> {
    const rec = this.containers.find(ref);
    const abs = containerPath(path);
    const thaw = await this.containers.hold(rec.id);
    try {
      const { stat, host } = await this.statAt(rec, abs);
      // `dir/` and `dir/.` name the directory itself on the host.
      const source = host.replace(/\/\.?$/, "") || "/";
      const tar = packStream({ kind: "path", path: source, name: stat.name, options: { xattrs: false } });
      tar.once("close", () => void thaw());
      return { stat, tar };
    } catch (err) {
      await thaw();
      throw err;
    }
  }

  /**
   * `PUT /containers/{id}/archive`: extracts the tar (optionally gzip/zstd compressed) `body`
   * into the directory `path` (a final symlink followed inside the root). The upload is
   * spooled to disk (at most {@link MAX_UPLOAD_BYTES}), then applied with the layer applier's
   * guarantees: an entry that climbs out of the directory is refused, symlinks in entry paths
   * resolve inside it. Whiteout names are plain files here, as in Docker's untar.
   */
  async extract(ref: string, path: string, body: Readable, opts: ExtractOptions = {}): Promise<void> {
    const rec = this.containers.find(ref);
    const abs = containerPath(path);
    const loc = this.locate(rec, abs);
    if (loc.readOnly)
      throw new EngineError("INVALID_ARGUMENT", `mounted volume is marked read-only: ${loc.mountPoint}`);
    await withScratch(this.containers, async (dir) => {
      const { path: file, head } = await spoolUpload(body, dir, "upload.tar", MAX_UPLOAD_BYTES, "archive");
      const thaw = await this.containers.hold(rec.id);
      try {
        const dest = resolveInRoot(loc.root, loc.rel, { followFinal: true });
        const st = await lstat(dest).catch(() => undefined);
        if (!st)
          throw new EngineError("NOT_FOUND", `Could not find the file ${abs} in container ${rec.name}`);
        if (!st.isDirectory())
          throw new EngineError("INVALID_ARGUMENT", "extraction point is not a directory");
        await applyLayerFile(dest, file, {
          compression: sniffCompression(head) ?? "none",
          whiteouts: "literal",
          sameOwner: opts.copyUidGid === true,
          noOverwriteDirNonDir: opts.noOverwriteDirNonDir === true,
        });
      } catch (err) {
        if (err instanceof LayerError)
          throw new EngineError("INVALID_ARGUMENT", `extracting into ${abs}: ${err.message}`, { cause: err });
        throw err;
      } finally {
        await thaw();
      }
    });
  }

  /** `GET /containers/{id}/export`: a tar of the whole root filesystem; frozen until it ends. */
  async export(ref: string): Promise<Readable> {
    const rec = this.containers.find(ref);
    const root = this.rootOf(rec);
    const thaw = await this.containers.hold(rec.id);
    const tar = packStream({ kind: "directory", root, options: { xattrs: false } });
    tar.once("close", () => void thaw());
    return tar;
  }

  /** The overlay directories of `rec`: its upper directory and the image's layers, top first. */
  async layersOf(rec: ContainerRecord): Promise<{ upper: string; lowers: string[] }> {
    const snaps = this.containers.snapshots;
    if (snaps.driver !== "overlay")
      throw new EngineError(
        "INVALID_STATE",
        `container changes need the overlay snapshotter (this pierd uses ${snaps.driver})`,
      );
    const image = await containerImage(this.containers, rec);
    const ids = chainIds(image.config.rootfs.diff_ids);
    return {
      upper: join(snaps.containerDir(rec.id), "upper"),
      lowers: ids.map((id) => snaps.layerDir(id)).reverse(),
    };
  }

  /**
   * The paths of `rec`'s upper directory that pier's runtime made only to mount something on
   * (`/etc/hosts`, `/etc/resolv.conf`, `/etc/hostname`, volume targets the image lacks, and new
   * directories holding nothing else): an empty file or directory at a mount destination of its
   * spec that the image does not have. Docker keeps those in an init layer below the container's
   * own: they are neither changes nor committed.
   */
  async mountPlaceholders(
    rec: ContainerRecord,
    upper: string,
    lowers: readonly string[],
  ): Promise<Set<string>> {
    const hidden = new Set<string>();
    let destinations: string[];
    try {
      const spec = JSON.parse(await readFile(join(this.containers.dir(rec.id), "config.json"), "utf8")) as {
        mounts?: { destination?: string }[];
      };
      destinations = (spec.mounts ?? []).map((m) => posix.normalize(`/${m.destination ?? ""}`).slice(1));
    } catch {
      return hidden;
    }
    for (const rel of destinations) {
      if (!rel || (await inLower(lowers, rel))) continue;
      const st = await lstat(join(upper, rel)).catch(() => undefined);
      if (!st) continue;
      const empty = st.isFile()
        ? st.size === 0
        : st.isDirectory() && (await readdir(join(upper, rel))).length === 0;
      if (!empty) continue;
      hidden.add(rel);
      // Parents holding only placeholders were made (or copied up unchanged) for them too.
      for (let p = posix.dirname(rel); p !== "."; p = posix.dirname(p)) {
        const names = await readdir(join(upper, p)).catch(() => [] as string[]);
        if (!names.every((n) => hidden.has(`${p}/${n}`))) break;
        const pst = await lstat(join(upper, p));
        if ((await inLower(lowers, p)) && !(await sameAsLower(lowers, p, pst))) break;
        hidden.add(p);
      }
    }
    return hidden;
  }

  /**
   * `docker diff`: every path of the container's upper directory, as Docker's overlay driver
   * reports them: a whiteout is a deletion, a path the image has is a change, others are
   * additions (and so is everything under an added directory). Walked asynchronously, frozen.
   */
  async changes(ref: string): Promise<ContainerChange[]> {
    const rec = this.containers.find(ref);
    const { upper, lowers } = await this.layersOf(rec);
    const thaw = await this.containers.hold(rec.id);
    const out: ContainerChange[] = [];
    try {
      const hidden = await this.mountPlaceholders(rec, upper, lowers);
      const walk = async (rel: string, added: boolean): Promise<void> => {
        const d = await opendir(join(upper, rel));
        for await (const e of d) {
          const path = `${rel}/${e.name}`;
          if (hidden.has(path.slice(1))) continue;
          const st = await lstat(join(upper, path));
          if (st.isCharacterDevice() && st.rdev === 0) {
            out.push({ Path: path, Kind: 2 });
            continue;
          }
          const isNew = added || !(await inLower(lowers, path.slice(1)));
          out.push({ Path: path, Kind: isNew ? 1 : 0 });
          if (st.isDirectory()) await walk(path, isNew);
        }
      };
      await walk("", false);
    } finally {
      await thaw();
    }
    return out.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
  }
}
