/**
 * Root filesystems of a build, in overlayfs's own format (containerd's snapshotter model): every
 * layer is one directory under `<build root>/layers/<chain id>` holding that layer alone (its
 * whiteouts as overlay whiteouts), shared by every stage and every later build. A step runs on an
 * overlay of those directories plus its own `upper`, and that upper — what the step changed — is
 * both packed into the layer blob and then renamed into place as the new layer's directory: no
 * layer is ever applied twice, and a cached step's layer is applied (on a worker thread, never on
 * a daemon's event loop) only when a later step needs its files and it is not there yet.
 * Reading a stage's files (COPY --from, RUN --mount from=) goes through a read-only overlay; COPY
 * --from may hard-link unchanged files from the stage's layer directories (see `copy-step.ts`).
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ImageStore } from "../image/image-store.js";
import { applyLayerFile } from "../layer/index.js";
import { type Digest, digestOf } from "../oci/digest.js";
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
  /** The layer directories under it, top first (read-only while the step runs). */
  lowers: string[];
}

/**
 * What a step's action may leave to run once its overlay is unmounted: writes into the upper
 * directory itself (overlayfs allows no change to its layers while mounted).
 */
export type AfterUnmount = () => Promise<void>;

/** overlayfs takes its options in one page; pier's layer paths are short enough for ~60 layers. */
const MAX_MOUNT_DATA = 4000;

/** The chain ids of a stack of layers (image-spec: each names a layer with everything under it). */
export function chainIds(layers: readonly Pick<BuildLayer, "diffId">[]): Digest[] {
  const out: Digest[] = [];
  for (const l of layers) {
    const prev = out.at(-1);
    out.push(prev === undefined ? l.diffId : digestOf(`${prev} ${l.diffId}`));
  }
  return out;
}

/** The layer directories of a build root, each made once. */
export class LayerDirs {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly store: ImageStore,
    readonly root: string,
  ) {}

  /** Where the layer whose chain id is `chainId` lives (short: mount options are bounded). */
  dirOf(chainId: Digest): string {
    return join(this.root, "layers", chainId.slice("sha256:".length, "sha256:".length + 32));
  }

  /** An empty directory, the lowest layer of every overlay (a scratch stage has nothing else). */
  async empty(which: "empty" | "empty2" = "empty"): Promise<string> {
    const d = join(this.root, "layers", which);
    await mkdir(d, { recursive: true });
    return d;
  }

  /** The directory of `layer` on top of `chainId`'s parents, applying the blob if needed. */
  ensure(layer: BuildLayer, chainId: Digest): Promise<string> {
    const dir = this.dirOf(chainId);
    if (existsSync(dir)) return Promise.resolve(dir);
    let job = this.inflight.get(dir);
    if (!job) {
      job = this.apply(layer, dir).finally(() => this.inflight.delete(dir));
      this.inflight.set(dir, job);
    }
    return job;
  }

  private async apply(layer: BuildLayer, dir: string): Promise<string> {
    await mkdir(join(this.root, "layers"), { recursive: true });
    const tmp = await mkdtemp(join(this.root, "layers", "tmp-"));
    try {
      await applyLayerFile(tmp, this.store.content.blobPath(layer.digest), {
        mediaType: layer.mediaType,
        expectedDiffId: layer.diffId,
        whiteouts: "overlay",
      });
      await this.publish(tmp, dir);
      return dir;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Renames a finished layer directory (an applied blob, or a step's upper) into place. */
  async publish(from: string, dir: string): Promise<void> {
    try {
      await rename(from, dir);
    } catch (err) {
      // Another build made the same layer first: theirs is as good.
      if (!existsSync(dir)) throw err;
      await rm(from, { recursive: true, force: true });
    }
  }
}

/** The working directories of one stage: step mounts and read-only views. */
export class StageRootfs {
  private readonly mounts: string[] = [];

  /** `dir` is a fresh directory of this build. */
  constructor(
    private readonly dirs: LayerDirs,
    readonly dir: string,
  ) {}

  /** The layer directories of `layers`, top first, with the empty one at the bottom. */
  private async lowers(layers: readonly BuildLayer[]): Promise<string[]> {
    const ids = chainIds(layers);
    const out: string[] = [];
    for (const [i, l] of layers.entries()) out.push(await this.dirs.ensure(l, ids[i]!));
    out.push(await this.dirs.empty());
    return out.reverse();
  }

  private async mount(target: string, data: string): Promise<void> {
    if (data.length > MAX_MOUNT_DATA)
      throw new BuildError(
        "UNSUPPORTED",
        `too many layers for one overlay mount (${data.length} bytes of options)`,
      );
    await nativeMount("overlay", target, "overlay", 0, data);
    this.mounts.push(target);
  }

  private async unmount(target: string): Promise<void> {
    await nativeUnmount(target).catch(() => nativeUnmount(target, MNT_DETACH));
    this.mounts.splice(this.mounts.indexOf(target), 1);
  }

  /**
   * Runs `action` on an overlay over `layers` and resolves with its upper directory (to be
   * packed, then {@link StageRootfs.keep} or {@link StageRootfs.drop}). The mount is gone when
   * this resolves, whatever `action` did.
   */
  async step(
    layers: readonly BuildLayer[],
    action: (m: StepMount) => Promise<AfterUnmount | undefined>,
  ): Promise<string> {
    const lowers = await this.lowers(layers);
    await mkdir(this.dir, { recursive: true });
    const dir = await mkdtemp(join(this.dir, "step-"));
    const upper = join(dir, "upper");
    const work = join(dir, "work");
    const merged = join(dir, "merged");
    await mkdir(upper, { mode: 0o755 });
    await mkdir(work, { mode: 0o700 });
    await mkdir(merged, { mode: 0o755 });
    for (const p of [...lowers, upper, work])
      if (/[,:]/.test(p))
        throw new BuildError("INVALID_ARGUMENT", `build directory ${p} contains ',' or ':'`);
    await this.mount(merged, `lowerdir=${lowers.join(":")},upperdir=${upper},workdir=${work},index=off`);
    let after: AfterUnmount | undefined;
    try {
      after = await action({ merged, upper, lowers });
    } finally {
      await this.unmount(merged);
    }
    await after?.();
    return upper;
  }

  /** Makes a step's upper the directory of the layer now on top of `layers`. */
  async keep(upper: string, layers: readonly BuildLayer[]): Promise<void> {
    await this.dirs.publish(upper, this.dirs.dirOf(chainIds(layers).at(-1)!));
    await rm(join(upper, ".."), { recursive: true, force: true });
  }

  /** Removes a step's directories (its upper made no layer, or the step failed). */
  async drop(upper: string): Promise<void> {
    await rm(join(upper, ".."), { recursive: true, force: true });
  }

  /**
   * The layer directories of `layers`, top first (read them only: they are every build's). A
   * layer not unpacked yet is unpacked first.
   */
  async layerDirs(layers: readonly BuildLayer[]): Promise<string[]> {
    return await this.lowers(layers);
  }

  /** A read-only view of the files of `layers` (unmounted by {@link StageRootfs.dispose}). */
  async view(layers: readonly BuildLayer[]): Promise<string> {
    const lowers = await this.lowers(layers);
    await mkdir(this.dir, { recursive: true });
    const target = await mkdtemp(join(this.dir, "view-"));
    // overlayfs wants two lower layers at least when it has no upper.
    if (lowers.length < 2) lowers.push(await this.dirs.empty("empty2"));
    await this.mount(target, `lowerdir=${lowers.join(":")}`);
    return target;
  }

  /** Unmounts what is still mounted and removes the stage's directories. */
  async dispose(): Promise<void> {
    for (const m of [...this.mounts].reverse()) await this.unmount(m).catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}
