/**
 * pier's layer library: the public surface other parts import (engine snapshots, image build,
 * CLI). Pack a directory or the difference of two into a reproducible layer, store it
 * compressed with both digests, and apply layers securely.
 *
 * @example
 * const layer = await packToStore(store, "/path/rootfs", { compression: "zstd" });
 * await applyLayer("/var/lib/pier/snapshots/1/fs", await store.read(layer.digest), {
 *   mediaType: layer.mediaType,
 *   expectedDiffId: layer.diffId,
 * });
 */
export { type ApplyOptions, type ApplyStats, applyLayer } from "./apply.js";
export { applyLayerFile } from "./apply-thread.js";
export {
  type CompressOptions,
  compressionForMediaType,
  compressor,
  DEFAULT_LEVEL,
  decompress,
  sniffCompression,
} from "./compression.js";
export { type Change, computeChanges, type DiffOptions, diffDirectories } from "./diff.js";
export { LayerError, type LayerErrorCode } from "./error.js";
export { type PackOptions, packDirectory } from "./pack.js";
export { packPath } from "./pack-path.js";
export { type PackJob, packStream } from "./pack-thread.js";
export { normalizeEntryPath, resolveInRoot } from "./resolve.js";
export { packToStore, type StoredLayer, type StoreLayerOptions, storeLayer } from "./store-layer.js";
export type { TarEntryType, TarHeader } from "./tar-header.js";
export { readTar, type TarEntry } from "./tar-reader.js";
export { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from "./whiteout.js";
export { readTreeXattrs } from "./xattr.js";
