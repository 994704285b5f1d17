import type { Readable, Writable } from "node:stream";
import type { OciLayout } from "../../content/layout.js";
import type { BlobInfo, ContentStore } from "../../content/store.js";
import { decompress } from "../../layer/index.js";
import type { Digest } from "../../oci/digest.js";
import { type Compression, isIndexMediaType, layerCompression } from "../../oci/media-types.js";
import { hostPlatform, selectManifest } from "../../oci/platform.js";
import { tryParseReference } from "../../oci/reference.js";
import type { Descriptor, Platform } from "../../oci/types.js";
import { parseImageConfig, parseIndex, parseManifest } from "../../oci/validate.js";
import {
  configPath,
  type DockerArchiveImage,
  type DockerExportImage,
  dockerArchiveFiles,
  layerPath,
  parseDockerArchiveManifest,
} from "./docker-manifest.js";
import { ArchiveError } from "./error.js";
import { MAX_DOCUMENT, uncompressedInfo } from "./layer-blob.js";
import { writeArchive, writeEntry } from "./tar-io.js";

/** Options of {@link exportDockerArchive}. */
export interface DockerExportOptions {
  /** Platform picked from multi-platform images (default: this host's). */
  platform?: Platform;
}

interface ExportLayer {
  blob: Descriptor;
  diffId: Digest;
  compression: Compression;
  size: number;
}

/**
 * Writes a docker archive (what `docker load`, `podman load` and `skopeo copy docker-archive:`
 * read) of the images named `names` in `layout`: `<config hex>.json`, one uncompressed
 * `<diff id hex>.tar` per layer, `manifest.json` and `repositories`. Compressed layers (gzip,
 * zstd) are decompressed on the fly and checked against their diff ids before being written;
 * nothing is held in memory. A path `out` appears only once complete.
 */
export async function exportDockerArchive(
  store: ContentStore,
  layout: OciLayout,
  names: readonly string[],
  out: Writable | string,
  options: DockerExportOptions = {},
): Promise<DockerArchiveImage[]> {
  const byManifest = new Map<Digest, DockerExportImage>();
  const layers = new Map<Digest, ExportLayer>();
  const configs = new Map<Digest, BlobInfo>();
  for (const name of names) {
    const root = await layout.resolve(name);
    if (!root)
      throw new ArchiveError("IMAGE_NOT_FOUND", `no image named ${JSON.stringify(name)} in ${layout.root}`, {
        detail: { name },
      });
    const manifestDesc = await pickManifest(store, root, options.platform ?? hostPlatform());
    const ref = tryParseReference(name);
    const tag = ref && ref.digest === undefined ? ref.toString() : undefined;
    const known = byManifest.get(manifestDesc.digest);
    if (known) {
      if (tag && !known.repoTags.includes(tag)) known.repoTags.push(tag);
      continue;
    }
    const manifest = parseManifest(await store.readBytes(manifestDesc.digest, MAX_DOCUMENT));
    const config = parseImageConfig(await store.readBytes(manifest.config.digest, MAX_DOCUMENT));
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new ArchiveError(
        "UNSUPPORTED",
        `image ${name}: its manifest has ${manifest.layers.length} layers but its config ${diffIds.length} diff ids`,
      );
    }
    for (const [j, layer] of manifest.layers.entries()) {
      const diffId = diffIds[j]!;
      if (layers.has(diffId)) continue;
      const compression = layerCompression(layer.mediaType);
      if (!compression) {
        throw new ArchiveError(
          "UNSUPPORTED",
          `image ${name}: ${layer.mediaType} (layer ${j}) is not a layer docker can load`,
        );
      }
      const plain = await uncompressedInfo(store, layer, compression);
      if (plain.digest !== diffId) {
        throw new ArchiveError(
          "DIFF_ID_MISMATCH",
          `image ${name}: layer ${layer.digest} uncompresses to ${plain.digest}, not the diff id ${diffId} its config declares`,
          { detail: { layer: layer.digest, expected: diffId, actual: plain.digest } },
        );
      }
      layers.set(diffId, { blob: layer, diffId, compression, size: plain.size });
    }
    configs.set(manifest.config.digest, { digest: manifest.config.digest, size: manifest.config.size });
    byManifest.set(manifestDesc.digest, {
      configDigest: manifest.config.digest,
      diffIds,
      repoTags: tag ? [tag] : [],
    });
  }
  const images = [...byManifest.values()];
  const files = dockerArchiveFiles(images);
  await writeArchive(out, async (pack) => {
    for (const c of configs.values())
      await writeEntry(pack, configPath(c.digest), await store.read(c.digest), c.size);
    for (const l of layers.values()) {
      const raw: Readable = await store.read(l.blob.digest);
      const data = l.compression === "none" ? raw : decompress(raw, l.compression);
      await writeEntry(pack, layerPath(l.diffId), data, l.size);
    }
    await writeEntry(pack, "manifest.json", Buffer.from(files.manifest));
    await writeEntry(pack, "repositories", Buffer.from(files.repositories));
  });
  return parseDockerArchiveManifest(files.manifest);
}

/** The image manifest `root` stands for: itself, or the entry of an index best matching `platform`. */
async function pickManifest(store: ContentStore, root: Descriptor, platform: Platform): Promise<Descriptor> {
  let current = root;
  for (let depth = 0; depth < 4 && isIndexMediaType(current.mediaType); depth++) {
    current = selectManifest(parseIndex(await store.readBytes(current.digest, MAX_DOCUMENT)), platform);
  }
  return current;
}
