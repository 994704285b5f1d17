/**
 * The build context: a directory whose files COPY and ADD may read, minus what `.dockerignore`
 * (or `.containerignore`) excludes. A source path is taken relative to the context with the
 * context as `/` (`..` stops there, a symlink resolves inside it), so nothing outside the context
 * is ever read; wildcards match per path component as Go's `filepath.Match`. The content digest
 * of what a COPY reads (paths, types, modes, link targets, file bytes — never mtimes) keys the
 * build cache ({@link SourceTree.digest}).
 */
import {
  chmod,
  copyFile,
  lchown,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  symlink,
} from "node:fs/promises";
import { join, posix } from "node:path";
import { isErrno } from "../errors.js";
import { resolveInRoot } from "../layer/index.js";
import { digestOf } from "../oci/digest.js";
import { FILE_CONCURRENCY, mapLimit } from "./concurrency.js";
import { digestOnThread } from "./digest-thread.js";
import { IgnoreMatcher, patternRegExp } from "./dockerignore.js";
import { BuildError } from "./error.js";
import type { TreeDigest } from "./tree-digest.js";

/** One file, directory or symlink a COPY takes, with where it lands relative to the destination. */
export interface SourceEntry {
  /** Host path (inside the context or a stage's root). */
  host: string;
  /** Path below the destination (`""` for a single file copied onto the destination itself). */
  rel: string;
}

/** A directory tree that COPY reads from: the context (with its ignore rules) or a stage's root. */
export class SourceTree {
  /**
   * `root` is the tree; `ignore` excludes paths (the context's `.dockerignore`); `hashCache` is
   * the file of the tree's stat-keyed digest cache ({@link FileHashCache}), absent for none.
   */
  constructor(
    readonly root: string,
    readonly ignore: IgnoreMatcher = new IgnoreMatcher(""),
    readonly hashCache?: string,
  ) {}

  /**
   * A build context: reads `.dockerignore`, else `.containerignore`, at its top. With
   * `hashCacheDir`, the digests of its files are kept there between builds, in a file named
   * after the context's path.
   */
  static async context(dir: string, hashCacheDir?: string): Promise<SourceTree> {
    let cache: string | undefined;
    if (hashCacheDir !== undefined) {
      await mkdir(hashCacheDir, { recursive: true, mode: 0o700 });
      cache = join(hashCacheDir, `${digestOf(dir).slice("sha256:".length, "sha256:".length + 32)}.json`);
    }
    for (const name of [".dockerignore", ".containerignore"]) {
      try {
        return new SourceTree(dir, new IgnoreMatcher(await readFile(join(dir, name), "utf8"), name), cache);
      } catch (err) {
        if (!isErrno(err, "ENOENT")) throw err;
      }
    }
    return new SourceTree(dir, undefined, cache);
  }

  /**
   * The content digest of `entries` (from {@link SourceTree.entries}, `rel` as the copy lays
   * them out): paths, types, modes, link targets and file bytes, never times or owners, so
   * touching a file keeps the step's cache. Computed on a worker thread; with a hash cache, an
   * unchanged file is not read again. `files` holds each file's content digest, for the copy to
   * check that it copies the bytes that were hashed.
   */
  async digest(entries: readonly { host: string; rel: string }[]): Promise<TreeDigest> {
    const cached = this.hashCache !== undefined;
    return await digestOnThread({
      entries: entries.map((e) => ({
        host: e.host,
        rel: e.rel,
        ...(cached && e.host.startsWith(`${this.root}/`)
          ? { cacheName: e.host.slice(this.root.length + 1) }
          : {}),
      })),
      ...(cached ? { cacheFile: this.hashCache } : {}),
    });
  }

  /**
   * The paths (relative, `/`-separated, cleaned) that the source `src` names: itself, or every
   * match of its wildcards. Throws `CONTEXT_PATH` when nothing matches.
   */
  async match(src: string): Promise<string[]> {
    const clean = posix.normalize(`/${src}`).slice(1).replace(/\/+$/, "");
    if (!/[*?[]/.test(clean)) {
      const host = resolveInRoot(this.root, clean, { followFinal: true });
      const rel = host === this.root ? "" : host.slice(this.root.length + 1);
      if (rel !== "" && this.ignore.excludes(rel)) throw notFound(src);
      try {
        await lstat(host);
      } catch (err) {
        if (isErrno(err, "ENOENT") || isErrno(err, "ENOTDIR")) throw notFound(src);
        throw err;
      }
      return [rel];
    }
    let candidates = [""];
    for (const part of clean.split("/")) {
      const next: string[] = [];
      const re = /[*?[]/.test(part) ? patternRegExp(part) : undefined;
      for (const dir of candidates) {
        if (re === undefined) {
          next.push(dir === "" ? part : `${dir}/${part}`);
          continue;
        }
        let names: string[];
        try {
          names = await readdir(resolveInRoot(this.root, dir, { followFinal: true }));
        } catch {
          continue;
        }
        for (const n of names.sort()) if (re.test(n)) next.push(dir === "" ? n : `${dir}/${n}`);
      }
      candidates = next;
    }
    const found: string[] = [];
    for (const rel of candidates) {
      if (this.ignore.excludes(rel)) continue;
      const host = resolveInRoot(this.root, rel, { followFinal: true });
      if (
        await lstat(host).then(
          () => true,
          () => false,
        )
      )
        found.push(host === this.root ? "" : host.slice(this.root.length + 1));
    }
    if (found.length === 0) throw notFound(src);
    return found;
  }

  /** The host path of the matched path `rel`. */
  hostOf(rel: string): string {
    return rel === "" ? this.root : resolveInRoot(this.root, rel, { followFinal: true });
  }

  /**
   * The host directory a `RUN --mount=type=bind` of the matched path `rel` shows: the path
   * itself when nothing is ignored, else a copy under `scratch` of what `.dockerignore` keeps
   * (hard links where the file system allows, mode and owner kept), as BuildKit mounts the
   * filtered context.
   */
  async bindSource(rel: string, scratch: string): Promise<string> {
    const host = this.hostOf(rel);
    if (this.ignore.empty || !(await lstat(host)).isDirectory()) return host;
    const dest = await mkdtemp(join(scratch, "bind-"));
    const entries = await this.entries(rel);
    const copyOwner = async (from: string, to: string) => {
      const st = await lstat(from);
      await lchown(to, st.uid, st.gid);
      if (!st.isSymbolicLink()) await chmod(to, st.mode & 0o7777);
    };
    await copyOwner(host, dest);
    // Parents come before children: directories first, then files in parallel.
    for (const e of entries) if (e.kind === "dir") await mkdir(join(dest, e.rel));
    await mapLimit(
      entries.filter((e) => e.kind !== "dir"),
      FILE_CONCURRENCY,
      async (e) => {
        const to = join(dest, e.rel);
        if (e.kind === "symlink") await symlink(await readlink(e.host), to);
        else if (e.kind === "file")
          await link(e.host, to).catch(async (err: unknown) => {
            if (!isErrno(err, "EXDEV") && !isErrno(err, "EPERM")) throw err;
            await copyFile(e.host, to);
          });
        if (e.kind !== "other") await copyOwner(e.host, to);
      },
    );
    for (const e of entries.filter((x) => x.kind === "dir").reverse())
      await copyOwner(e.host, join(dest, e.rel));
    return dest;
  }

  /**
   * Every entry under the matched path `rel` (a file alone, or a directory's whole tree minus
   * ignored paths), parents before children. `under` is the directory's own relative name.
   */
  async entries(
    rel: string,
  ): Promise<{ host: string; rel: string; kind: "file" | "dir" | "symlink" | "other" }[]> {
    const host = rel === "" ? this.root : resolveInRoot(this.root, rel, { followFinal: true });
    const st = await lstat(host);
    if (!st.isDirectory()) return [{ host, rel: "", kind: kindOf(st) }];
    const out: { host: string; rel: string; kind: "file" | "dir" | "symlink" | "other" }[] = [];
    const walk = async (dirHost: string, dirRel: string, ctxRel: string) => {
      for (const e of (await readdir(dirHost, { withFileTypes: true })).sort((a, b) =>
        a.name < b.name ? -1 : 1,
      )) {
        const childCtx = ctxRel === "" ? e.name : `${ctxRel}/${e.name}`;
        const childRel = dirRel === "" ? e.name : `${dirRel}/${e.name}`;
        const childHost = join(dirHost, e.name);
        const excluded = this.ignore.excludes(childCtx);
        if (e.isDirectory()) {
          if (excluded && !this.ignore.mayIncludeUnder(childCtx)) continue;
          const before = out.length;
          if (!excluded) out.push({ host: childHost, rel: childRel, kind: "dir" });
          await walk(childHost, childRel, childCtx);
          // An excluded directory appears only as the parent of a re-included path.
          if (excluded && out.length > before)
            out.splice(before, 0, { host: childHost, rel: childRel, kind: "dir" });
        } else if (!excluded) {
          out.push({
            host: childHost,
            rel: childRel,
            kind: e.isFile() ? "file" : e.isSymbolicLink() ? "symlink" : "other",
          });
        }
      }
    };
    await walk(host, "", rel);
    return out;
  }
}

function kindOf(st: {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}): "file" | "dir" | "symlink" | "other" {
  return st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other";
}

function notFound(src: string): BuildError {
  return new BuildError(
    "CONTEXT_PATH",
    `"${src}": not found in the build context or excluded by .dockerignore`,
  );
}
