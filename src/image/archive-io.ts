/**
 * Archive import and export for the local image store: docker archives (`docker save`) and OCI
 * archives (a tar of an image layout), chosen by content on import and by flag on export.
 */
import { isPierError } from "../errors.js";
import { parseReference, tryParseReference } from "../oci/reference.js";
import { exportDockerArchive, importDockerArchive } from "./archive/docker-archive.js";
import type { ImportedImage } from "./archive/imported.js";
import { exportOciArchive, importOciArchive } from "./archive/oci-archive.js";
import type { ImageStore } from "./image-store.js";

/** Archive formats pier reads and writes. */
export type ArchiveFormat = "docker" | "oci";

/**
 * Imports `file` into the store: as a docker archive when it has a `manifest.json`, else as an
 * OCI archive. Names are normalised to full references; an OCI archive's bare tags (skopeo's
 * `oci-archive:f:tag`) are kept as they are unless `tag` names the image. With `tag`, the
 * imported image (there must be exactly one) is also given that name. Resolves with the names.
 */
export async function importArchive(store: ImageStore, file: string, tag?: string): Promise<string[]> {
  let imported: ImportedImage[];
  try {
    imported = await importDockerArchive(file, store.content, store.layout);
  } catch (err) {
    if (!(isPierError(err, "INVALID_ARCHIVE") && /no manifest\.json/.test(err.message))) throw err;
    imported = await importOciArchive(file, store.content, store.layout);
  }
  const names: string[] = [];
  for (const img of imported) {
    if (img.name === undefined) continue;
    const normal = tryParseReference(img.name)?.toString();
    if (normal !== undefined && normal !== img.name && !tag) {
      await store.layout.set(normal, img.descriptor);
      await store.layout.remove(img.name);
      names.push(normal);
    } else {
      names.push(img.name);
    }
  }
  if (tag) {
    const roots = new Set(imported.map((i) => i.descriptor.digest));
    if (roots.size !== 1)
      throw new Error(`--tag: the archive holds ${roots.size} images; name them one by one after import`);
    const name = parseReference(tag).toString();
    await store.layout.set(name, imported[0]!.descriptor);
    for (const img of imported)
      if (img.name !== undefined && img.name !== name) await store.layout.remove(img.name);
    return [name];
  }
  return names.length > 0 ? names : imported.map((i) => i.descriptor.digest);
}

/** Exports the images `refs` (names, digests or ids of named images) to `file` in `format`. */
export async function exportArchive(
  store: ImageStore,
  refs: readonly string[],
  file: string,
  format: ArchiveFormat,
): Promise<void> {
  const names: string[] = [];
  for (const ref of refs) {
    const found = await store.find(ref);
    const name =
      found.name ?? (await store.list()).find((i) => i.descriptor.digest === found.descriptor.digest)?.name;
    if (name === undefined) throw new Error(`${ref}: only named images can be exported; tag it first`);
    names.push(name);
  }
  if (format === "docker") await exportDockerArchive(store.content, store.layout, names, file);
  else await exportOciArchive(store.content, store.layout, names, file);
}
