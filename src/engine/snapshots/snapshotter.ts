/**
 * The overlayfs snapshotter (containerd's model): every layer is unpacked once, alone, into
 * `<root>/snapshots/<chain id hex>/fs` and shared by every image and container above it; a
 * container's root filesystem is an overlay mount of those directories plus its own `upper` and
 * `work` directories under `<root>/rw/<key>/`. Where overlayfs is missing, the `copy` driver
 * applies the layers into the container's own directory instead.
 *
 * Guarantees: a snapshot directory becomes visible (renamed into place) only once its layer was
 * applied completely with the right diff_id; a failed `prepare` leaves no container directory
 * and no mount behind. Layers are applied on a worker thread (a layer is a stranger's input and
 * the apply is synchronous filesystem work), cancelled when every caller waiting for it went
 * away; what a killed daemon left half-applied is removed by {@link Snapshotter.cleanup}.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { applyLayerFile } from "../../layer/index.js";
import type { Digest } from "../../oci/digest.js";
import {
  FS_MAGIC,
  isMountedAs,
  MNT_DETACH,
  nativeMount,
  nativeUnmount,
} from "../../runtime/native-mounter.js";
import { EngineError } from "../error.js";
import { Trash } from "../trash.js";
import { chainIds, overlayOptions, snapshotDirName } from "./plan.js";

/**
 * Niceness of the unpack threads: an unpack is background work, pierd's API thread comes first
 * on a busy machine (an idle machine runs them at full speed all the same).
 */
const UNPACK_NICE = 10;

/** One layer of an image as the snapshotter needs it. */
export interface LayerSource {
  /** Media type of the blob (decides the decompression). */
  mediaType: string;
  /** The uncompressed digest, checked while applying. */
  diffId: Digest;
  /** The blob's file (the apply thread reads it itself). */
  path: string;
}

/** An unpack in progress, shared by every caller that needs the same layer. */
interface UnpackJob {
  done: Promise<void>;
  /** Stops the apply once no caller waits any more. */
  abort: AbortController;
  waiters: number;
}

/** Options of {@link Snapshotter.prepare}. */
export interface PrepareOptions {
  /**
   * Mount the overlay `volatile`, as podman does for `--rm` containers: overlayfs then never syncs
   * the upper filesystem, and its unmount does not either (otherwise a `syncfs` of the whole
   * filesystem under `<root>`, which on a busy host took 3-160 ms per container). A host crash
   * leaves such an upper layer unusable: only for containers removed when they exit. Kernels
   * before 5.10 lack the option: the overlay is then mounted without it.
   */
  volatile?: boolean;
}

/** How container root filesystems are made. */
export type SnapshotDriver = "overlay" | "copy";

/** True when the running kernel offers overlayfs. */
export function overlayAvailable(): boolean {
  try {
    return /\toverlay\n/.test(readFileSync("/proc/filesystems", "utf8"));
  } catch {
    return false;
  }
}

/** Unpacks layers once and makes container root filesystems from them. */
export class Snapshotter {
  readonly root: string;
  readonly driver: SnapshotDriver;
  /** Removed containers' directories, deleted in the background (`<root>/trash`). */
  readonly trash: Trash;
  private readonly inflight = new Map<string, UnpackJob>();

  /** `driver` defaults to `overlay` when the kernel has it, else `copy`. */
  constructor(root: string, driver: SnapshotDriver = overlayAvailable() ? "overlay" : "copy") {
    this.root = root;
    this.driver = driver;
    this.trash = new Trash(join(root, "trash"));
  }

  private get snapDir(): string {
    return join(this.root, "snapshots");
  }

  /** The shared, read-only directory of a committed layer snapshot. */
  layerDir(chainId: Digest): string {
    return join(this.snapDir, snapshotDirName(chainId), "fs");
  }

  /** The directory of a container's own layer (`upper`, `work`, `merged`). */
  containerDir(key: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(key) || key === "." || key === "..")
      throw new EngineError("INVALID_ARGUMENT", `invalid snapshot key ${JSON.stringify(key)}`);
    return join(this.root, "rw", key);
  }

  /** Where a container's root filesystem appears once prepared. */
  rootfs(key: string): string {
    return join(this.containerDir(key), "merged");
  }

  /**
   * Removes what a daemon killed mid-unpack left behind (`snapshots/tmp/unpack-*`), and what it
   * removed but had not deleted yet (`trash/`). Call once at startup, before anything unpacks.
   */
  async cleanup(): Promise<string[]> {
    // What the last daemon removed and had not deleted yet (see Trash): nothing refers to it.
    await this.trash.empty();
    const tmp = join(this.snapDir, "tmp");
    let names: string[];
    try {
      names = await readdir(tmp);
    } catch {
      return [];
    }
    for (const n of names) await rm(join(tmp, n), { recursive: true, force: true });
    return names;
  }

  /**
   * Makes sure every layer has its snapshot (unpacking the missing ones, each exactly once even
   * when called concurrently); resolves with the chain ids, bottom first. When `signal` aborts,
   * this call rejects at once (`SNAPSHOT_FAILED`) and an unpack nobody else waits for stops.
   */
  async unpack(layers: readonly LayerSource[], signal?: AbortSignal): Promise<Digest[]> {
    const ids = chainIds(layers.map((l) => l.diffId));
    for (const [i, layer] of layers.entries()) {
      const id = ids[i]!;
      if (existsSync(this.layerDir(id))) continue;
      let job = this.inflight.get(id);
      if (!job) {
        const abort = new AbortController();
        const started: UnpackJob = { abort, waiters: 0, done: this.unpackOne(id, layer, abort.signal) };
        started.done = started.done.finally(() => this.forget(id, started));
        this.inflight.set(id, started);
        job = started;
      }
      await this.waitFor(id, job, layer.diffId, signal);
    }
    return ids;
  }

  private forget(id: Digest, job: UnpackJob): void {
    if (this.inflight.get(id) === job) this.inflight.delete(id);
  }

  /**
   * Waits for `job` on behalf of one caller; when that caller's `signal` aborts, stops waiting
   * at once and, if nobody else waits, stops the job (a later caller starts afresh).
   */
  private async waitFor(id: Digest, job: UnpackJob, diffId: Digest, signal?: AbortSignal): Promise<void> {
    job.waiters++;
    let onAbort: (() => void) | undefined;
    try {
      if (!signal) return await job.done;
      await Promise.race([
        job.done,
        new Promise<never>((_, reject) => {
          onAbort = () =>
            reject(
              new EngineError(
                "SNAPSHOT_FAILED",
                `unpacking layer ${diffId}: cancelled (the request went away)`,
              ),
            );
          if (signal.aborted) onAbort();
          else signal.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
    } finally {
      if (onAbort) signal?.removeEventListener("abort", onAbort);
      job.waiters--;
      if (job.waiters === 0 && signal?.aborted) {
        this.forget(id, job);
        job.abort.abort();
      }
    }
  }

  private async unpackOne(id: Digest, layer: LayerSource, signal: AbortSignal): Promise<void> {
    await mkdir(join(this.snapDir, "tmp"), { recursive: true });
    const tmp = await mkdtemp(join(this.snapDir, "tmp", "unpack-"));
    try {
      await mkdir(join(tmp, "fs"), { mode: 0o755 });
      await applyLayerFile(
        join(tmp, "fs"),
        layer.path,
        { mediaType: layer.mediaType, expectedDiffId: layer.diffId, whiteouts: "overlay" },
        { signal, nice: UNPACK_NICE },
      );
      const dest = join(this.snapDir, snapshotDirName(id));
      try {
        await rename(tmp, dest);
      } catch (err) {
        // Another process committed the same layer first: theirs is as good as ours.
        if (!existsSync(join(dest, "fs"))) throw err;
      }
    } catch (err) {
      throw new EngineError("SNAPSHOT_FAILED", `unpacking layer ${layer.diffId}: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Creates the root filesystem of container `key` over `layers` (bottom first) and resolves
   * with its path. With `overlay` it is mounted; with `copy` the layers are applied into it.
   * `signal` cancels it (see {@link Snapshotter.unpack}), leaving nothing behind.
   */
  async prepare(
    key: string,
    layers: readonly LayerSource[],
    signal?: AbortSignal,
    opts: PrepareOptions = {},
  ): Promise<string> {
    const dir = this.containerDir(key);
    if (existsSync(dir)) throw new EngineError("SNAPSHOT_FAILED", `snapshot ${key} already exists`);
    const merged = join(dir, "merged");
    try {
      mkdirSync(merged, { recursive: true, mode: 0o755 });
      if (this.driver === "copy") {
        for (const l of layers) {
          await applyLayerFile(
            merged,
            l.path,
            { mediaType: l.mediaType, expectedDiffId: l.diffId },
            { ...(signal ? { signal } : {}), nice: UNPACK_NICE },
          );
        }
        return merged;
      }
      const ids = await this.unpack(layers, signal);
      mkdirSync(join(dir, "upper"), { mode: 0o755 });
      mkdirSync(join(dir, "work"), { mode: 0o700 });
      await this.mount(key, ids, opts.volatile === true);
      return merged;
    } catch (err) {
      await this.remove(key).catch(() => {});
      if (err instanceof EngineError) throw err;
      throw new EngineError("SNAPSHOT_FAILED", `preparing rootfs of ${key}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private async mount(key: string, ids: readonly Digest[], volatile: boolean): Promise<void> {
    const dir = this.containerDir(key);
    const lowers = ids.length ? ids.map((id) => this.layerDir(id)) : [await this.emptyLower()];
    const [upper, work] = [join(dir, "upper"), join(dir, "work")];
    try {
      await nativeMount(
        "overlay",
        join(dir, "merged"),
        "overlay",
        0,
        overlayOptions(lowers, upper, work, { volatile }),
      );
    } catch (err) {
      if (!volatile) throw err;
      // A kernel before 5.10 refuses the option (EINVAL): the overlay syncs then, as any other.
      await nativeMount("overlay", join(dir, "merged"), "overlay", 0, overlayOptions(lowers, upper, work));
    }
  }

  private async emptyLower(): Promise<string> {
    const d = join(this.snapDir, "empty");
    await mkdir(d, { recursive: true });
    return d;
  }

  /** True when the container's rootfs is mounted (or, with `copy`, present). */
  isMounted(key: string): boolean {
    const merged = this.rootfs(key);
    return this.driver === "copy" ? existsSync(merged) : isMountedAs(merged, FS_MAGIC.overlay);
  }

  /** Unmounts (if mounted) and deletes a container's own layer; absent keys are fine. */
  async remove(key: string): Promise<void> {
    const dir = this.containerDir(key);
    if (!existsSync(dir)) return;
    if (this.driver === "overlay" && this.isMounted(key)) {
      try {
        await nativeUnmount(join(dir, "merged"));
      } catch {
        // Busy (a process still inside): detach it so the directory can go.
        await nativeUnmount(join(dir, "merged"), MNT_DETACH);
      }
    }
    // Out of the way at once, its files deleted in the background (see Trash).
    this.trash.discard(dir);
  }

  /** Chain ids of every committed layer snapshot. */
  async list(): Promise<string[]> {
    try {
      return (await readdir(this.snapDir)).filter((n) => /^[a-f0-9]{64}$/.test(n));
    } catch {
      return [];
    }
  }
}
