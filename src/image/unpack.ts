/**
 * Unpacking an image into an OCI runtime bundle: `rootfs/` with every layer applied in order
 * (each layer's diff_id checked), and a `config.json` made from the image config as image-spec
 * `conversion.md` says, on top of the defaults that `runc spec` gives.
 */
import { mkdir, readdir, rm, rmdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { isErrno } from "../errors.js";
import { applyLayer } from "../layer/index.js";
import type { Spec } from "../oci/runtime-spec/config.js";
import { defaultRuntimeSpec } from "../oci/runtime-spec/default-spec.js";
import type { Platform } from "../oci/types.js";
import { runtimeConfigFromImage } from "./bundle-config.js";
import { ImageError } from "./error.js";
import type { ImageStore, ResolvedImage } from "./image-store.js";
import { readUserFiles } from "./rootfs-files.js";

/** Options of {@link unpackImage}. */
export interface UnpackOptions {
  /** Platform to pick from an index (default: the host's). */
  platform?: Platform;
  /** Make the config for a rootless container (`runc spec --rootless`). */
  rootless?: boolean;
  /** Set `process.terminal` (default false: an unpacked image runs without a tty, as umoci makes it). */
  terminal?: boolean;
  /** Receives one line per step, for progress output. */
  progress?: (line: string) => void;
}

/** What {@link unpackImage} made. */
export interface UnpackedBundle {
  bundle: string;
  rootfs: string;
  image: ResolvedImage;
  spec: Spec;
}

/** Creates `dir`, refusing a non-empty existing one; resolves whether it existed before. */
async function prepareBundleDir(dir: string): Promise<boolean> {
  try {
    const entries = await readdir(dir);
    if (entries.length > 0)
      throw new ImageError("BUNDLE_EXISTS", `bundle directory ${dir} exists and is not empty`);
    return true;
  } catch (err) {
    if (!isErrno(err, "ENOENT")) throw err;
    await mkdir(dir, { recursive: true });
    return false;
  }
}

/**
 * Unpacks `ref` into the bundle directory `bundleDir`. On any failure (a corrupt layer, a wrong
 * diff_id, a layer that tries to escape the root) the bundle is removed again: no partial
 * bundle is left behind.
 */
export async function unpackImage(
  store: ImageStore,
  ref: string,
  bundleDir: string,
  options: UnpackOptions = {},
): Promise<UnpackedBundle> {
  const image = await store.resolveImage(ref, options.platform);
  const bundle = resolve(bundleDir);
  const existed = await prepareBundleDir(bundle);
  const rootfs = join(bundle, "rootfs");
  try {
    await mkdir(rootfs, { mode: 0o755 });
    const { layers } = image.manifest;
    const diffIds = image.config.rootfs.diff_ids;
    if (diffIds.length !== layers.length) {
      throw new ImageError(
        "INVALID_IMAGE",
        `${image.descriptor.digest}: manifest has ${layers.length} layers but config.rootfs.diff_ids has ${diffIds.length}`,
      );
    }
    for (const [i, layer] of layers.entries()) {
      options.progress?.(`applying layer ${i + 1}/${layers.length} ${layer.digest} (${layer.size} bytes)`);
      await applyLayer(rootfs, await store.content.read(layer.digest), {
        mediaType: layer.mediaType,
        expectedDiffId: diffIds[i]!,
      });
    }
    const spec = runtimeConfigFromImage(
      image.config,
      defaultRuntimeSpec({ rootless: options.rootless === true }),
      await readUserFiles(rootfs),
    );
    if (spec.process) spec.process.terminal = options.terminal === true;
    await writeFile(join(bundle, "config.json"), `${JSON.stringify(spec, null, 2)}\n`);
    options.progress?.(`wrote ${join(bundle, "config.json")}`);
    return { bundle, rootfs, image, spec };
  } catch (err) {
    await rm(rootfs, { recursive: true, force: true });
    await rm(join(bundle, "config.json"), { force: true });
    if (!existed) await rmdir(bundle).catch(() => undefined);
    throw err;
  }
}
