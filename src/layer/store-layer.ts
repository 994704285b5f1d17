/**
 * Compresses a layer tar into a content store in one pass, computing both digests the image
 * needs: the blob digest (manifest) and the diff_id (config's `rootfs.diff_ids`).
 */
import { pipeline, type Readable } from "node:stream";
import type { ContentStore } from "../content/store.js";
import { type Digest, DigestStream } from "../oci/digest.js";
import { type Compression, ociLayerMediaType } from "../oci/media-types.js";
import { type CompressOptions, compressor } from "./compression.js";
import { type PackOptions, packDirectory } from "./pack.js";

/** A layer written to a content store: what a manifest descriptor and a config need. */
export interface StoredLayer {
  /** Digest of the compressed blob, as the store holds it. */
  digest: Digest;
  /** Digest of the uncompressed tar. */
  diffId: Digest;
  /** Size of the compressed blob in bytes. */
  size: number;
  /** The OCI layer media type for the compression used. */
  mediaType: string;
}

/** Options of {@link storeLayer}. */
export interface StoreLayerOptions extends CompressOptions {
  /** Default gzip. */
  compression?: Compression;
}

/**
 * Compresses `tar` and ingests it into `store`, hashing the uncompressed bytes on the way.
 * The blob becomes visible only once complete and verified (the store's guarantee); an error
 * of the tar stream aborts the ingest.
 */
export async function storeLayer(
  store: ContentStore,
  tar: Readable,
  options: StoreLayerOptions = {},
): Promise<StoredLayer> {
  const compression = options.compression ?? "gzip";
  const diff = new DigestStream();
  const comp = compressor(compression, options);
  const done = new Promise<void>((resolve, reject) => {
    pipeline(tar, diff, comp, (err) => (err ? reject(err) : resolve()));
  });
  const [info] = await Promise.all([store.ingest(comp), done]);
  return {
    digest: info.digest,
    diffId: diff.digest(),
    size: info.size,
    mediaType: ociLayerMediaType(compression),
  };
}

/** Packs `root` ({@link packDirectory}) and stores it compressed ({@link storeLayer}). */
export async function packToStore(
  store: ContentStore,
  root: string,
  options: PackOptions & StoreLayerOptions = {},
): Promise<StoredLayer> {
  return storeLayer(store, await packDirectory(root, options), options);
}
