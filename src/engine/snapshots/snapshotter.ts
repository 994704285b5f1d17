/**
 * The overlayfs snapshotter (containerd's model): every layer is unpacked once, alone, into
 * `<root>/snapshots/<chain id hex>/fs` and shared by every image and container above it; a
 * container's root filesystem is an overlay mount of those directories plus its own `upper` and
 * `work` directories under `<root>/rw/<key>/`. Where overlayfs is missing, the `copy` driver
 * applies the layers into the container's own directory instead.
 *
 * Guarantees: a snapshot directory becomes visible (renamed into place) only once its layer was
 * applied completely with the right diff_id; a failed `prepare` leaves no container directory
 * and no mount behind.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { applyLayer } from "../../layer/index.js";
import type { Digest } from "../../oci/digest.js";
import {
  FS_MAGIC,
  isMountedAs,
  MNT_DETACH,
  nativeMount,
  nativeUnmount,
} from "../../runtime/native-mounter.js";
import { EngineError } from "../error.js";
import { chainIds, overlayOptions, snapshotDirName } from "./plan.js";

/** One layer of an image as the snapshotter needs it. */
export interface LayerSource {
  /** Media type of the blob (decides the decompression). */
  mediaType: string;
  /** The uncompressed digest, checked while applying. */
  diffId: Digest;
  /** Opens the blob. */
  open(): Promise<Readable>;
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
  private readonly inflight = new Map<string, Promise<void>>();

  /** `driver` defaults to `overlay` when the kernel has it, else `copy`. */
  constructor(root: string, driver: SnapshotDriver = overlayAvailable() ? "overlay" : "copy") {
    this.root = root;
    this.driver = driver;
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
   * Makes sure every layer has its snapshot (unpacking the missing ones, each exactly once even
   * when called concurrently); resolves with the chain ids, bottom first.
   */
  async unpack(layers: readonly LayerSource[]): Promise<Digest[]> {
    const ids = chainIds(layers.map((l) => l.diffId));
    for (const [i, layer] of layers.entries()) {
      const id = ids[i]!;
      if (existsSync(this.layerDir(id))) continue;
      let job = this.inflight.get(id);
      if (!job) {
        job = this.unpackOne(id, layer).finally(() => this.inflight.delete(id));
        this.inflight.set(id, job);
      }
      await job;
    }
    return ids;
  }

  private async unpackOne(id: Digest, layer: LayerSource): Promise<void> {
    await mkdir(join(this.snapDir, "tmp"), { recursive: true });
    const tmp = await mkdtemp(join(this.snapDir, "tmp", "unpack-"));
    try {
      await mkdir(join(tmp, "fs"), { mode: 0o755 });
      await applyLayer(join(tmp, "fs"), await layer.open(), {
        mediaType: layer.mediaType,
        expectedDiffId: layer.diffId,
        whiteouts: "overlay",
      });
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
   */
  async prepare(key: string, layers: readonly LayerSource[]): Promise<string> {
    const dir = this.containerDir(key);
    if (existsSync(dir)) throw new EngineError("SNAPSHOT_FAILED", `snapshot ${key} already exists`);
    const merged = join(dir, "merged");
    try {
      mkdirSync(merged, { recursive: true, mode: 0o755 });
      if (this.driver === "copy") {
        for (const l of layers) {
          await applyLayer(merged, await l.open(), { mediaType: l.mediaType, expectedDiffId: l.diffId });
        }
        return merged;
      }
      const ids = await this.unpack(layers);
      mkdirSync(join(dir, "upper"), { mode: 0o755 });
      mkdirSync(join(dir, "work"), { mode: 0o700 });
      await this.mount(key, ids);
      return merged;
    } catch (err) {
      await this.remove(key).catch(() => {});
      if (err instanceof EngineError) throw err;
      throw new EngineError("SNAPSHOT_FAILED", `preparing rootfs of ${key}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private async mount(key: string, ids: readonly Digest[]): Promise<void> {
    const dir = this.containerDir(key);
    const lowers = ids.length ? ids.map((id) => this.layerDir(id)) : [await this.emptyLower()];
    const data = overlayOptions(lowers, join(dir, "upper"), join(dir, "work"));
    await nativeMount("overlay", join(dir, "merged"), "overlay", 0, data);
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
    // Synchronous: a container's upper layer is usually a few files, quicker than thread-pool trips.
    rmSync(dir, { recursive: true, force: true });
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
