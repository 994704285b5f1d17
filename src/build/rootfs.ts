/**
 * A stage's root filesystem while it is built. The layers below the current step are applied,
 * in order and only when a step needs the files (a fully cached build touches no file), into
 * one directory; a step that changes files runs on an overlay mount with that directory as its
 * only lower layer, and its `upper` directory is the step's layer (packed with overlay
 * whiteouts). The new layer is then applied onto the directory for the next step. Layers are
 * applied on a worker thread (`applyLayerFile`), never on a daemon's event loop.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ImageStore } from "../image/image-store.js";
import { applyLayerFile } from "../layer/index.js";
import type { Digest } from "../oci/digest.js";
import { MNT_DETACH, nativeMount, nativeUnmount } from "../runtime/native-mounter.js";
import { BuildError } from "./error.js";

/** A layer of the image being built. */
export interface BuildLayer {
  digest: Digest;
  diffId: Digest;
  size: number;
  mediaType: string;
}

/** A step's mounted root: write into `merged`; `upper` holds exactly what changed. */
export interface StepMount {
  merged: string;
  upper: string;
  /** The applied layers under it (read-only while the step runs). */
  lower: string;
}

/** The root filesystem of one stage. */
export class StageRootfs {
  private applied: BuildLayer[] = [];
  private readonly lowerDir: string;

  /** `dir` is a fresh directory of this build (under the builder's work directory). */
  constructor(
    private readonly store: ImageStore,
    readonly dir: string,
  ) {
    this.lowerDir = join(dir, "rootfs");
  }

  /** Applies whatever of `layers` is not applied yet; resolves with the directory. */
  async materialize(layers: readonly BuildLayer[]): Promise<string> {
    const n = this.applied.length;
    if (n > layers.length || this.applied.some((l, i) => l.diffId !== layers[i]!.diffId)) {
      // A different history (cannot happen within one stage; a fresh tree is always right).
      await rm(this.lowerDir, { recursive: true, force: true });
      this.applied = [];
    }
    await mkdir(this.lowerDir, { recursive: true, mode: 0o755 });
    for (const layer of layers.slice(this.applied.length)) {
      await applyLayerFile(this.lowerDir, this.store.content.blobPath(layer.digest), {
        mediaType: layer.mediaType,
        expectedDiffId: layer.diffId,
      });
      this.applied.push(layer);
    }
    return this.lowerDir;
  }

  /**
   * Runs `action` on an overlay over `layers` and resolves with its upper directory (to be
   * packed, then released with {@link StageRootfs.releaseStep}). The mount is gone when this
   * resolves, whatever `action` did.
   */
  async step(layers: readonly BuildLayer[], action: (m: StepMount) => Promise<void>): Promise<string> {
    const lower = await this.materialize(layers);
    const dir = await mkdtemp(join(this.dir, "step-"));
    const upper = join(dir, "upper");
    const work = join(dir, "work");
    const merged = join(dir, "merged");
    await mkdir(upper, { mode: 0o755 });
    await mkdir(work, { mode: 0o700 });
    await mkdir(merged, { mode: 0o755 });
    for (const p of [lower, upper, work])
      if (/[,:]/.test(p))
        throw new BuildError(
          "INVALID_ARGUMENT",
          `build directory ${p} contains ',' or ':' (overlayfs cannot name it)`,
        );
    await nativeMount(
      "overlay",
      merged,
      "overlay",
      0,
      `lowerdir=${lower},upperdir=${upper},workdir=${work},index=off`,
    );
    try {
      await action({ merged, upper, lower });
    } finally {
      await nativeUnmount(merged).catch(() => nativeUnmount(merged, MNT_DETACH));
    }
    return upper;
  }

  /** Removes a step's directories (after its layer was stored). */
  async releaseStep(upper: string): Promise<void> {
    await rm(join(upper, ".."), { recursive: true, force: true });
  }

  /** Records that `layer` (just made from a step's upper) now sits on top: applied for the next step. */
  async append(layers: readonly BuildLayer[]): Promise<void> {
    if (existsSync(this.lowerDir)) await this.materialize(layers);
  }

  /** Removes the stage's directories. */
  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
