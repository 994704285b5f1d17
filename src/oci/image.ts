/**
 * The small, lazy interfaces every home of an image implements (the model is
 * go-containerregistry's `v1.Image`): the content store, a remote registry, a `docker-archive`,
 * an `oci-archive`. Code that moves or reads images (`copy(src, dst)`, unpack, push) is written
 * once against these.
 *
 * Lazy: nothing is fetched, read or hashed until a method asks for it, and layer bytes are
 * always streams, never buffers. Methods returning documents cache them, so calling
 * `manifest()` twice reads once.
 *
 * `imageFromParts` and `indexFromParts` build the interfaces from the few raw operations a
 * home really has (read the manifest bytes, read the config bytes, make a layer), so that a
 * new home is one small file.
 *
 * @example
 * ```ts
 * const image = imageFromParts({
 *   rawManifest: () => store.readBytes(desc.digest, 4 << 20),
 *   rawConfig: (d) => store.readBytes(d.digest, 16 << 20),
 *   layer: (d, diffId) => storeLayer(store, d, diffId),
 * });
 * for (const layer of await image.layers()) await apply(await layer.uncompressed(), rootfs);
 * ```
 */
import type { Readable } from "node:stream";
import { type Digest, digestAlgorithm, digestOf } from "./digest.js";
import { OciError } from "./error.js";
import { MediaType } from "./media-types.js";
import { selectManifest } from "./platform.js";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "./types.js";
import { parseImageConfig, parseIndex, parseManifest } from "./validate.js";

/** One layer of an image: its blob (as stored, usually compressed) and its diff id. */
export interface Layer {
  /** The layer's descriptor as the manifest lists it (digest and size of the compressed blob). */
  readonly descriptor: Descriptor;
  /** Digest of the uncompressed tar (the config's `rootfs.diff_ids` entry). */
  diffId(): Promise<Digest>;
  /** The blob as stored, verified against `descriptor.digest` by the implementation. */
  compressed(): Promise<Readable>;
  /** The uncompressed tar stream. */
  uncompressed(): Promise<Readable>;
}

/** One image: a manifest, its config and its layers. */
export interface Image {
  /** Descriptor of the manifest (media type, digest and size of the manifest bytes). */
  descriptor(): Promise<Descriptor>;
  /** Digest of the manifest bytes: the image's identity in a registry. */
  digest(): Promise<Digest>;
  /** The manifest bytes, exactly as stored (their digest is the image digest). */
  rawManifest(): Promise<Uint8Array>;
  /** The parsed, validated manifest. */
  manifest(): Promise<ImageManifest>;
  /** The config bytes, exactly as stored. */
  rawConfig(): Promise<Uint8Array>;
  /** The parsed, validated config. */
  config(): Promise<ImageConfig>;
  /** The layers, base first, each paired with its diff id. */
  layers(): Promise<Layer[]>;
}

/** A multi-platform image: an index whose entries are images or further indexes. */
export interface ImageIndexSource {
  /** Descriptor of the index (media type, digest and size of the index bytes). */
  descriptor(): Promise<Descriptor>;
  /** Digest of the index bytes. */
  digest(): Promise<Digest>;
  /** The index bytes, exactly as stored. */
  rawIndex(): Promise<Uint8Array>;
  /** The parsed, validated index. */
  index(): Promise<ImageIndex>;
  /** The image an entry of this index names. Throws when `digest` is not an entry. */
  image(digest: Digest): Promise<Image>;
  /** The nested index an entry of this index names. Throws when `digest` is not an entry. */
  childIndex(digest: Digest): Promise<ImageIndexSource>;
}

/** Caches a lazy async value: the first call runs `fn`; later calls share its promise. */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= fn();
    return p;
  };
}

/** The descriptor of in-memory document bytes with the given media type. */
export function descriptorOf(raw: Uint8Array | string, mediaType: string): Descriptor {
  return {
    mediaType,
    digest: digestOf(raw),
    size: typeof raw === "string" ? Buffer.byteLength(raw) : raw.length,
  };
}

/** The raw operations a home of images has; see {@link imageFromParts}. */
export interface ImageParts {
  /** Reads the manifest bytes (the home verifies them against the digest it was asked for). */
  rawManifest(): Promise<Uint8Array>;
  /** Media type of the manifest when the document does not say (e.g. an HTTP Content-Type). */
  mediaType?: string;
  /** Reads the config bytes the manifest names; the helper verifies their digest and size. */
  rawConfig(config: Descriptor): Promise<Uint8Array>;
  /** Makes the layer for a manifest entry and its diff id from the config. */
  layer(descriptor: Descriptor, diffId: Digest): Layer;
}

/**
 * An {@link Image} from raw parts, parsing and caching lazily. Verifies the config blob against
 * the manifest (`DIGEST_MISMATCH`/`SIZE_MISMATCH`) and that the manifest lists as many layers as
 * the config has diff ids (`INVALID_DOCUMENT`).
 */
export function imageFromParts(parts: ImageParts): Image {
  const rawManifest = once(parts.rawManifest);
  const manifest = once(async () => parseManifest(await rawManifest()));
  const descriptor = once(async () => {
    const m = await manifest();
    return descriptorOf(await rawManifest(), m.mediaType ?? parts.mediaType ?? MediaType.OciManifest);
  });
  const rawConfig = once(async () => {
    const want = (await manifest()).config;
    const raw = await parts.rawConfig(want);
    if (raw.length !== want.size) {
      throw new OciError("SIZE_MISMATCH", `config: expected ${want.size} bytes, got ${raw.length}`);
    }
    const got = digestOf(raw, digestAlgorithm(want.digest));
    if (got !== want.digest)
      throw new OciError("DIGEST_MISMATCH", `config: expected ${want.digest}, got ${got}`);
    return raw;
  });
  const config = once(async () => parseImageConfig(await rawConfig()));
  const layers = once(async () => {
    const [m, c] = [await manifest(), await config()];
    const diffIds = c.rootfs.diff_ids;
    if (diffIds.length !== m.layers.length) {
      throw new OciError(
        "INVALID_DOCUMENT",
        `config.rootfs.diff_ids: has ${diffIds.length} entries but the manifest has ${m.layers.length} layers`,
      );
    }
    return m.layers.map((d, i) => parts.layer(d, diffIds[i]!));
  });
  return {
    descriptor,
    digest: async () => (await descriptor()).digest,
    rawManifest,
    manifest,
    rawConfig,
    config,
    layers,
  };
}

/** The raw operations a home of indexes has; see {@link indexFromParts}. */
export interface IndexParts {
  /** Reads the index bytes (the home verifies them against the digest it was asked for). */
  rawIndex(): Promise<Uint8Array>;
  /** Media type of the index when the document does not say. */
  mediaType?: string;
  /** Opens the image an entry names. */
  image(entry: Descriptor): Promise<Image>;
  /** Opens the nested index an entry names. */
  childIndex(entry: Descriptor): Promise<ImageIndexSource>;
}

/**
 * An {@link ImageIndexSource} from raw parts. `image(digest)`/`childIndex(digest)` look the
 * digest up among the entries first, so a caller cannot open content the index does not list
 * (`INVALID_DOCUMENT` naming the digest).
 */
export function indexFromParts(parts: IndexParts): ImageIndexSource {
  const rawIndex = once(parts.rawIndex);
  const index = once(async () => parseIndex(await rawIndex()));
  const descriptor = once(async () => {
    const i = await index();
    return descriptorOf(await rawIndex(), i.mediaType ?? parts.mediaType ?? MediaType.OciIndex);
  });
  const entry = async (digest: Digest): Promise<Descriptor> => {
    const found = (await index()).manifests.find((d) => d.digest === digest);
    if (!found)
      throw new OciError("INVALID_DOCUMENT", `index: has no entry ${digest}`, { detail: { digest } });
    return found;
  };
  return {
    descriptor,
    digest: async () => (await descriptor()).digest,
    rawIndex,
    index,
    image: async (digest) => parts.image(await entry(digest)),
    childIndex: async (digest) => parts.childIndex(await entry(digest)),
  };
}

/** The layer of `image` whose blob digest is `digest`, or `undefined`. */
export async function layerByDigest(image: Image, digest: Digest): Promise<Layer | undefined> {
  return (await image.layers()).find((l) => l.descriptor.digest === digest);
}

/** The layer of `image` whose diff id is `diffId`, or `undefined`. */
export async function layerByDiffId(image: Image, diffId: Digest): Promise<Layer | undefined> {
  for (const l of await image.layers()) if ((await l.diffId()) === diffId) return l;
  return undefined;
}

/**
 * The image of `source` for `platform`, chosen by {@link selectManifest} (exact match first,
 * then a compatible variant). Throws `NO_MATCHING_PLATFORM` listing what the index offers.
 */
export async function imageForPlatform(source: ImageIndexSource, platform: Platform): Promise<Image> {
  return source.image(selectManifest(await source.index(), platform).digest);
}
