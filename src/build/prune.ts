/**
 * Collection of the build cache (`pier builder prune`, `docker builder prune`, `POST
 * /build/prune`). What a build root keeps besides the images themselves:
 * - layer directories (`layers/`): each layer's files unpacked for overlayfs, re-made from the
 *   layer's blob when a later build needs them — the bulk of the space;
 * - step records (`cache/`): a step's key and the layer it made (the blob is in the content
 *   store, shared with images, and left to the store's own collection);
 * - cache mounts (`cache-mounts/`, `RUN --mount=type=cache`): what RUN steps kept there;
 * - context digests (`context-hashes/`): each context directory's file digests by stat.
 * Without `all`, only layer directories and records whose blob is gone are removed (what a later
 * build re-makes from what is still stored, as Docker's default prune removes only what nothing
 * uses); with `all`, every record and cache mount too. `until` keeps what was made or used after
 * that time; `keepStorage` removes the oldest entries until what remains fits. A layer directory
 * that a running build has mounted is skipped; one removed is first renamed away, so a build
 * starting meanwhile makes it again from the blob rather than read half of it.
 */
import { readFileSync } from "node:fs";
import { lstat, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ImageStore } from "../image/image-store.js";
import { parseMountInfo } from "../runtime/cgroups/mountinfo.js";
import { FILE_CONCURRENCY, mapLimit } from "./concurrency.js";

/** Options of {@link pruneBuildCache}. */
export interface PruneOptions {
  /** Also every step record and cache mount (`--all`). */
  all?: boolean;
  /** Only what was last made or used before this time (`--filter until=`). */
  until?: Date;
  /** Keep this many bytes of cache, removing the oldest first (`--keep-storage`). */
  keepStorage?: number;
  /** Only the entries this accepts (the daemon's filters on `id` and BuildKit's `type`). */
  match?: (e: { id: string; type: "regular" | "exec.cachemount" }) => boolean;
}

/** What a prune removed (Docker's `CachesDeleted` and `SpaceReclaimed`). */
export interface PruneResult {
  deleted: string[];
  reclaimed: number;
}

interface Entry {
  id: string;
  path: string;
  kind: "layer" | "record" | "mount" | "hashes";
  size: number;
  time: number;
  /** Removed without `all` (re-made from what is stored). */
  disposable: boolean;
}

/** Removes build cache from `buildRoot` as `opts` says. */
export async function pruneBuildCache(
  store: ImageStore,
  buildRoot: string,
  opts: PruneOptions = {},
): Promise<PruneResult> {
  const entries = await listEntries(store, buildRoot);
  const mounted = mountedPaths();
  const candidates = entries
    .filter((e) => !(e.kind === "layer" && mounted.some((m) => m.includes(e.path))))
    .sort((a, b) => a.time - b.time);
  const chosen = new Set<Entry>();
  for (const e of candidates) {
    if (!(opts.all || e.disposable)) continue;
    if (opts.until && e.time >= opts.until.getTime()) continue;
    if (opts.match && !opts.match({ id: e.id, type: typeOf(e) })) continue;
    chosen.add(e);
  }
  if (opts.keepStorage !== undefined) {
    // Oldest first until what stays fits; with only keepStorage, that alone decides.
    if (opts.until === undefined && !opts.all) chosen.clear();
    let total = entries.reduce((n, e) => n + e.size, 0) - [...chosen].reduce((n, e) => n + e.size, 0);
    for (const e of candidates) {
      if (total <= opts.keepStorage) break;
      if (chosen.has(e) || (opts.match && !opts.match({ id: e.id, type: typeOf(e) }))) continue;
      chosen.add(e);
      total -= e.size;
    }
  }
  const result: PruneResult = { deleted: [], reclaimed: 0 };
  for (const e of candidates.filter((c) => chosen.has(c))) {
    const doomed = `${e.path}.prune-${process.pid}`;
    try {
      await rename(e.path, doomed);
    } catch {
      continue; // gone meanwhile
    }
    await rm(doomed, { recursive: true, force: true });
    result.deleted.push(e.id);
    result.reclaimed += e.size;
  }
  return result;
}

/** The size of the build cache in `buildRoot` (what `docker system df` shows as build cache). */
export async function buildCacheSize(store: ImageStore, buildRoot: string): Promise<number> {
  return (await listEntries(store, buildRoot)).reduce((n, e) => n + e.size, 0);
}

/** BuildKit's record types: a cache mount is `exec.cachemount`, the rest `regular`. */
function typeOf(e: Entry): "regular" | "exec.cachemount" {
  return e.kind === "mount" ? "exec.cachemount" : "regular";
}

async function listEntries(store: ImageStore, buildRoot: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const dir = async (sub: string) =>
    (await readdir(join(buildRoot, sub)).catch(() => [] as string[])).map((n) => ({
      n,
      p: join(buildRoot, sub, n),
    }));
  for (const { n, p } of await dir("layers")) {
    if (!/^[0-9a-f]{32}$/.test(n)) continue; // the empty lowers and in-flight temp dirs stay
    const st = await stat(p);
    out.push({
      id: `layer:${n}`,
      path: p,
      kind: "layer",
      size: await treeSize(p),
      time: st.mtimeMs,
      disposable: true,
    });
  }
  for (const { n, p } of await dir("cache")) {
    if (!n.endsWith(".json")) continue;
    const st = await stat(p);
    let disposable = false;
    try {
      const v = JSON.parse(await readFile(p, "utf8")) as { layer: { digest: string } | null };
      disposable = v.layer !== null && !(await store.content.info(v.layer.digest as `sha256:${string}`));
    } catch {
      disposable = true; // unreadable: useless
    }
    out.push({
      id: `step:${n.slice(0, -5)}`,
      path: p,
      kind: "record",
      size: st.size,
      time: st.mtimeMs,
      disposable,
    });
  }
  for (const { n, p } of await dir("context-hashes")) {
    if (!n.endsWith(".json")) continue;
    const st = await stat(p);
    out.push({
      id: `context:${n.slice(0, -5)}`,
      path: p,
      kind: "hashes",
      size: st.size,
      time: st.mtimeMs,
      disposable: false,
    });
  }
  for (const { n, p } of await dir("cache-mounts")) {
    const st = await stat(p);
    out.push({
      id: `mount:${n}`,
      path: p,
      kind: "mount",
      size: await treeSize(p),
      time: st.mtimeMs,
      disposable: false,
    });
  }
  return out;
}

/** Bytes of the regular files under `root` (each inode once). */
async function treeSize(root: string): Promise<number> {
  const seen = new Set<number>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    const names = await readdir(d, { withFileTypes: true }).catch(() => []);
    await mapLimit(names, FILE_CONCURRENCY, async (e) => {
      const p = join(d, e.name);
      if (e.isDirectory()) return walk(p);
      const st = await lstat(p).catch(() => undefined);
      if (st && !seen.has(st.ino)) {
        seen.add(st.ino);
        total += st.size;
      }
    });
  };
  await walk(root);
  return total;
}

/** Mount options and sources of this mount namespace (a build's overlays name their lowers). */
function mountedPaths(): string[] {
  try {
    return parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8")).map(
      (m) => `${m.superOptions.join(",")} ${m.mountPoint}`,
    );
  } catch {
    return [];
  }
}
