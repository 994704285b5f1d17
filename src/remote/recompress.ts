/**
 * Layer recompression for `copy --dest-compress gzip|zstd`: a layer is decompressed as its media
 * type declares, compressed again, digested and staged in a private temp file (a blob's digest
 * must be known before it is uploaded); the uncompressed bytes, and so the config's `diff_ids`,
 * stay the same.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { compressor, decompress } from "../layer/index.js";
import { DigestStream } from "../oci/digest.js";
import { type Compression, layerCompression, MediaType, ociLayerMediaType } from "../oci/media-types.js";
import type { Descriptor } from "../oci/types.js";
import { RemoteError } from "./error.js";

/** The media type of a layer recompressed to `target`, in the manifest's own family. Pure. */
export function recompressedMediaType(
  mediaType: string,
  target: Compression,
  dockerManifest: boolean,
): string {
  if (!dockerManifest) return ociLayerMediaType(target);
  if (target === "gzip") return MediaType.DockerLayerGzip;
  if (target === "none") return MediaType.DockerLayer;
  throw new RemoteError(
    "UNSUPPORTED",
    `a Docker schema 2 manifest cannot carry zstd layers (${mediaType}); add --format oci`,
  );
}

/** True when the layer must be recompressed to reach `target`. Pure. */
export function needsRecompression(layer: Descriptor, target: Compression): boolean {
  const current = layerCompression(layer.mediaType);
  return current !== undefined && current !== target && !layer.urls?.length;
}

/** A staged, recompressed layer: its new descriptor and a way to read it; `dispose` removes it. */
export interface StagedLayer {
  descriptor: Descriptor;
  open(): Promise<Readable>;
  dispose(): Promise<void>;
}

/** Recompresses `source` (the bytes of `layer`) to `target` into a temp file. */
export async function stageRecompressed(
  layer: Descriptor,
  source: Readable,
  target: Compression,
  dockerManifest: boolean,
): Promise<StagedLayer> {
  const mediaType = recompressedMediaType(layer.mediaType, target, dockerManifest);
  const dir = await mkdtemp(join(tmpdir(), "pier-recompress-"));
  const file = join(dir, "layer");
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const digest = new DigestStream();
    const declared = layerCompression(layer.mediaType) ?? "none";
    await pipeline(decompress(source, declared), compressor(target), digest, createWriteStream(file));
    const descriptor: Descriptor = { ...layer, mediaType, digest: digest.digest(), size: digest.size };
    return { descriptor, open: async () => createReadStream(file), dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
