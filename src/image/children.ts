import type { ChildrenFn } from "../content/gc.js";
import type { ContentStore } from "../content/store.js";
import { isIndexMediaType, isManifestMediaType } from "../oci/media-types.js";
import type { Descriptor } from "../oci/types.js";
import { parseManifestOrIndex } from "../oci/validate.js";

/** Largest manifest or index read when walking (distribution-spec asks registries to take 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 << 20;

/**
 * The standard {@link ChildrenFn} for OCI and Docker images: a manifest refers to its config,
 * its layers and its subject; an index (or Docker manifest list) to its manifests and its subject;
 * any other blob to nothing. Reads manifests from `store`, validating them; a missing blob throws
 * `ContentError` `NOT_FOUND` (which GC treats as a leaf), a malformed one an `OciError`.
 */
export function imageChildren(store: ContentStore): ChildrenFn {
  return async (descriptor: Descriptor): Promise<Descriptor[]> => {
    if (!isManifestMediaType(descriptor.mediaType) && !isIndexMediaType(descriptor.mediaType)) return [];
    const doc = parseManifestOrIndex(
      await store.readBytes(descriptor.digest, MAX_MANIFEST_BYTES),
      descriptor.mediaType,
    );
    const out: Descriptor[] =
      doc.kind === "manifest" ? [doc.manifest.config, ...doc.manifest.layers] : [...doc.index.manifests];
    const subject = doc.kind === "manifest" ? doc.manifest.subject : doc.index.subject;
    if (subject) out.push(subject);
    return out;
  };
}
