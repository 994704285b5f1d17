/** What `pier image inspect` and `pier image ls` show about an image, computed from the store. */
import type { Digest } from "../oci/digest.js";
import type { Descriptor, HistoryEntry, ImageConfig, ImageManifest } from "../oci/types.js";
import type { ImageStore, ResolvedImage } from "./image-store.js";

/** One layer as inspect shows it. */
export interface LayerSummary {
  digest: Digest;
  diffId: Digest | undefined;
  mediaType: string;
  size: number;
}

/** The full inspect view of one image. */
export interface ImageInspection {
  name?: string;
  /** Digest of the root (the index, when the name points at one). */
  digest: Digest;
  /** Digest of the platform's manifest. */
  manifestDigest: Digest;
  mediaType: string;
  /** The config digest: docker's image id. */
  id: Digest;
  platform: string;
  created?: string;
  /** Bytes of the manifest, config and layer blobs. */
  size: number;
  layers: LayerSummary[];
  history: HistoryEntry[];
  manifest: ImageManifest;
  config: ImageConfig;
}

/** Sums the blob sizes of one image (manifest, config and layers). */
export function imageSize(manifestDesc: Descriptor, manifest: ImageManifest): number {
  return manifestDesc.size + manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
}

/** Builds the inspect view from a resolved image. */
export function describeImage(img: ResolvedImage): ImageInspection {
  const { config, manifest } = img;
  return {
    ...(img.name === undefined ? {} : { name: img.name }),
    digest: img.root.digest,
    manifestDigest: img.descriptor.digest,
    mediaType: img.descriptor.mediaType,
    id: img.configDigest,
    platform: [config.os, config.architecture, config.variant].filter(Boolean).join("/"),
    ...(config.created ? { created: config.created } : {}),
    size: imageSize(img.descriptor, manifest),
    layers: manifest.layers.map((l, i) => ({
      digest: l.digest,
      diffId: config.rootfs.diff_ids[i],
      mediaType: l.mediaType,
      size: l.size,
    })),
    history: config.history ?? [],
    manifest,
    config,
  };
}

/** Resolves and describes an image of the store. */
export async function inspectImage(store: ImageStore, ref: string): Promise<ImageInspection> {
  return describeImage(await store.resolveImage(ref));
}
