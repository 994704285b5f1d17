import type { BlobInfo, ContentStore } from "../../content/store.js";
import { decompress, sniffCompression } from "../../layer/index.js";
import { Digester } from "../../oci/digest.js";
import type { Compression } from "../../oci/media-types.js";

/** Largest manifest or config read into memory from a store or an archive. */
export const MAX_DOCUMENT = 4 << 20;

/** Digest and size of a (possibly compressed) layer's uncompressed tar, read from the store. */
export async function uncompressedInfo(
  store: ContentStore,
  blob: BlobInfo,
  compression: Compression,
): Promise<BlobInfo> {
  if (compression === "none") return blob;
  const digester = new Digester("sha256");
  for await (const chunk of decompress(await store.read(blob.digest), compression))
    digester.update(chunk as Buffer);
  return { digest: digester.digest(), size: digester.size };
}

/** The compression a stored blob is in, judged by its first bytes (an empty blob is plain). */
export async function sniffBlob(store: ContentStore, blob: BlobInfo): Promise<Compression> {
  if (blob.size === 0) return "none";
  const parts: Buffer[] = [];
  for await (const chunk of await store.read(blob.digest, { start: 0, end: Math.min(blob.size, 8) - 1 }))
    parts.push(chunk as Buffer);
  return sniffCompression(Buffer.concat(parts)) ?? "none";
}
