/**
 * New images from containers and tars: `docker commit` (the container's overlay upper directory
 * packed as one more layer over its image, with Docker's config merge, history entry and
 * `--change` instructions) and `docker import` (a tar, checked by applying it with the layer
 * applier's hardening, packed as the one layer of a new image). Packing runs on a worker thread;
 * a commit holds a running container frozen while its upper directory is read.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { layerDescriptor, writeImage } from "../image/build.js";
import { mergeEnv } from "../image/bundle-config.js";
import {
  applyLayerFile,
  LayerError,
  packStream,
  type StoredLayer,
  sniffCompression,
  storeLayer,
} from "../layer/index.js";
import { hostPlatform, parsePlatform } from "../oci/platform.js";
import { tryParseReference } from "../oci/reference.js";
import type { Descriptor, HistoryEntry, ImageConfig, ImageExecConfig } from "../oci/types.js";
import { type ContainerFiles, containerImage } from "./container-files.js";
import type { ContainerConfig } from "./containers/config.js";
import type { ContainerService } from "./containers/service.js";
import { EngineError } from "./error.js";
import type { EventLog } from "./events.js";
import { applyChanges } from "./image-changes.js";
import { familiarName } from "./image-operations.js";
import { MAX_UPLOAD_BYTES, spoolUpload, withScratch } from "./uploads.js";

/** diff_id of a tar with no entries (two zero blocks): Docker records no layer for it. */
export const EMPTY_TAR_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

/** What `POST /commit` takes (Docker's query parameters). */
export interface CommitOptions {
  /** Repository, optionally with `:tag`. */
  repo?: string;
  tag?: string;
  author?: string;
  comment?: string;
  /** Dockerfile instructions (`--change`). */
  changes?: readonly string[];
  /** Freeze a running container while its files are read (default true). */
  pause?: boolean;
}

/** What `POST /images/create?fromSrc=-` takes. */
export interface ImportOptions {
  repo?: string;
  tag?: string;
  /** The history entry's comment (`--message`). */
  message?: string;
  changes?: readonly string[];
  /** `os/arch[/variant]` recorded in the config (default the host's). */
  platform?: string;
}

/** An image a commit or import made. */
export interface MadeImage {
  /** The config digest (Docker's image id). */
  id: string;
  /** Its full name. */
  name: string;
}

/**
 * The full name of a new image from Docker's `repo` and `tag`. pier keeps no untagged images,
 * so a name is required. Pure.
 */
export function newImageName(repo: string | undefined, tag: string | undefined, verb: string): string {
  if (!repo)
    throw new EngineError(
      "INVALID_ARGUMENT",
      `${verb}: pier keeps no untagged images: give the new image a name (REPOSITORY[:TAG])`,
    );
  const ref = tryParseReference(tag ? `${repo}:${tag}` : repo);
  if (!ref)
    throw new EngineError("INVALID_ARGUMENT", `invalid reference format: ${repo}${tag ? `:${tag}` : ""}`);
  return ref.toString();
}

/**
 * The exec config of a committed image: the image's, with what the container was created with
 * over it (as the container's merged config is in Docker), then the `--change` lines. Pure.
 */
export function committedConfig(
  image: ImageExecConfig,
  c: ContainerConfig,
  changes: readonly string[],
): ImageExecConfig {
  const out: ImageExecConfig = { ...image };
  if (c.entrypoint) {
    out.Entrypoint = c.entrypoint;
    if (!c.cmd) delete out.Cmd;
  }
  if (c.cmd) out.Cmd = c.cmd;
  if (c.env) out.Env = mergeEnv(image.Env ?? [], c.env);
  if (c.workingDir) out.WorkingDir = c.workingDir;
  if (c.user) out.User = c.user;
  if (c.labels) out.Labels = { ...(image.Labels ?? {}), ...c.labels };
  if (c.stopSignal) out.StopSignal = c.stopSignal;
  if (c.exposedPorts?.length)
    out.ExposedPorts = {
      ...(image.ExposedPorts ?? {}),
      ...Object.fromEntries(c.exposedPorts.map((p) => [p.includes("/") ? p : `${p}/tcp`, {}])),
    };
  return applyChanges(out, changes);
}

function historyEntry(
  created: string,
  createdBy: string,
  o: { author?: string; comment?: string },
  empty: boolean,
): HistoryEntry {
  return {
    created,
    created_by: createdBy,
    ...(o.author ? { author: o.author } : {}),
    ...(o.comment ? { comment: o.comment } : {}),
    ...(empty ? { empty_layer: true } : {}),
  };
}

/** Commit and import. */
export class ImageCommits {
  constructor(
    private readonly containers: ContainerService,
    private readonly files: ContainerFiles,
    private readonly events: EventLog,
  ) {}

  /** `POST /commit`: a new image named from `opts.repo`/`opts.tag` (see {@link newImageName}). */
  async commit(ref: string, opts: CommitOptions = {}): Promise<MadeImage> {
    const rec = this.containers.find(ref);
    const name = newImageName(opts.repo, opts.tag, "commit");
    const changes = opts.changes ?? [];
    const base = await containerImage(this.containers, rec);
    // Checked before any work, so a bad --change leaves nothing behind.
    const exec = committedConfig(base.config.config ?? {}, rec.config, changes);
    if (opts.pause === false && rec.status === "running")
      throw new EngineError(
        "INVALID_ARGUMENT",
        "commit --pause=false is refused: pier reads a running container's files from the host, and only a frozen container cannot swap a directory for a symlink while they are read",
      );
    const { upper, lowers } = await this.files.layersOf(rec);
    const store = this.containers.images.store;
    const thaw = await this.containers.hold(rec.id);
    let layer: StoredLayer;
    try {
      const exclude = await this.files.mountPlaceholders(rec, upper, lowers);
      layer = await storeLayer(
        store.content,
        packStream({ kind: "directory", root: upper, options: { overlay: true, exclude } }),
        {
          compression: "gzip",
        },
      );
    } catch (err) {
      if (err instanceof LayerError)
        throw new EngineError("INVALID_STATE", `commit of ${rec.name}: ${err.message}`, { cause: err });
      throw err;
    } finally {
      await thaw();
    }
    const empty = layer.diffId === EMPTY_TAR_DIFF_ID;
    const created = new Date().toISOString();
    const config: ImageConfig = {
      ...base.config,
      created,
      ...(opts.author ? { author: opts.author } : {}),
      config: exec,
      rootfs: {
        type: "layers",
        diff_ids: [...base.config.rootfs.diff_ids, ...(empty ? [] : [layer.diffId])],
      },
      history: [
        ...(base.config.history ?? []),
        historyEntry(created, (rec.config.cmd ?? base.config.config?.Cmd ?? []).join(" "), opts, empty),
      ],
    };
    const layers: Descriptor[] = [...base.manifest.layers, ...(empty ? [] : [layerDescriptor(layer)])];
    const platform = {
      architecture: config.architecture,
      os: config.os,
      ...(config.variant ? { variant: config.variant } : {}),
    };
    const written = await writeImage(store, name, config, layers, platform);
    this.events.record("container", "commit", rec.id, {
      name: rec.name,
      image: rec.config.image,
      ...(opts.comment ? { comment: opts.comment } : {}),
    });
    return { id: written.config.digest, name };
  }

  /**
   * `POST /images/create?fromSrc=-`: the tar `body` (plain, gzip or zstd; at most
   * {@link MAX_UPLOAD_BYTES}) as the one layer of a new image. The tar is applied into a scratch
   * directory first (refusing escapes, loops, bad headers as a layer is refused), then packed
   * reproducibly; nothing is stored when either fails.
   */
  async importTar(body: Readable, opts: ImportOptions = {}): Promise<MadeImage> {
    const name = newImageName(opts.repo, opts.tag, "import");
    const changes = opts.changes ?? [];
    const exec = applyChanges({}, changes);
    const platform = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
    const store = this.containers.images.store;
    const layer = await withScratch(this.containers, async (dir) => {
      const { path, head } = await spoolUpload(body, dir, "import.tar", MAX_UPLOAD_BYTES, "import archive");
      const rootfs = join(dir, "rootfs");
      await mkdir(rootfs, { mode: 0o755 });
      try {
        await applyLayerFile(rootfs, path, { compression: sniffCompression(head) ?? "none" });
        return await storeLayer(store.content, packStream({ kind: "directory", root: rootfs, options: {} }), {
          compression: "gzip",
        });
      } catch (err) {
        if (err instanceof LayerError)
          throw new EngineError("INVALID_ARGUMENT", `import: ${err.message}`, { cause: err });
        throw err;
      }
    });
    const created = new Date().toISOString();
    const config: ImageConfig = {
      created,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: exec,
      rootfs: { type: "layers", diff_ids: [layer.diffId] },
      history: [historyEntry(created, "", { ...(opts.message ? { comment: opts.message } : {}) }, false)],
    };
    const written = await writeImage(store, name, config, [layerDescriptor(layer)], platform);
    this.events.record("image", "import", written.config.digest, { name: familiarName(name) });
    return { id: written.config.digest, name };
  }
}
