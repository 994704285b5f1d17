/**
 * A manifest of pier's store, by digest, as a source of the copy engine (`copyImage`): an image
 * built without `-t` has no name in the store, and a build cache manifest never has one.
 */
import type { ImageStore } from "../image/image-store.js";
import type { Digest } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import type { ImageSource } from "../remote/index.js";

/** A manifest is small; the store's are pier's own, the bound is for sanity. */
export const MAX_MANIFEST_BYTES = 4 << 20;

/** The manifest `digest` of `store` and its blobs (verified when the store took them). */
export function storeManifestSource(store: ImageStore, digest: Digest): ImageSource {
  const content = store.content;
  return {
    name: `store:${digest}`,
    getManifest: async (d) => {
      const want = d ?? digest;
      const bytes = await content.readBytes(want, MAX_MANIFEST_BYTES);
      const doc = JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown };
      return {
        bytes,
        digest: want,
        mediaType: typeof doc.mediaType === "string" ? doc.mediaType : MediaType.OciManifest,
      };
    },
    getBlob: async (desc) => await content.read(desc.digest),
    close: async () => {},
  };
}
