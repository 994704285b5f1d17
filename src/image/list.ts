/** The rows of `pier image ls`: one per name, with what a table of images shows. */

import type { Digest } from "../oci/digest.js";
import { parseReference, Reference } from "../oci/reference.js";
import type { ImageStore } from "./image-store.js";
import { imageSize } from "./inspect.js";

/** One row of the image list. */
export interface ImageListRow {
  name: string;
  repository: string;
  tag: string;
  digest: Digest;
  /** Config digest (docker's image id) of the host platform's image, or of the index. */
  id: Digest;
  platform: string;
  created?: string;
  size: number;
}

/** Lists the store's named images; a name whose content is damaged shows as such, not as an error. */
export async function listImages(store: ImageStore): Promise<ImageListRow[]> {
  const rows: ImageListRow[] = [];
  for (const { name, descriptor } of await store.list()) {
    const ref = parseReference(name);
    const repository = new Reference(ref.registry, ref.repository).familiar();
    const base = { name, repository, tag: ref.tag ?? "<none>", digest: descriptor.digest };
    try {
      const img = await store.resolveDescriptor(descriptor, undefined, name);
      rows.push({
        ...base,
        id: img.configDigest,
        platform: [img.config.os, img.config.architecture, img.config.variant].filter(Boolean).join("/"),
        ...(img.config.created ? { created: img.config.created } : {}),
        size: imageSize(img.descriptor, img.manifest),
      });
    } catch {
      rows.push({ ...base, id: descriptor.digest, platform: "<unavailable>", size: descriptor.size });
    }
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}
