/**
 * Archive import and export for the local image store: docker archives (`docker save`) and OCI
 * archives (a tar of an image layout), chosen by content on import and by flag on export.
 */
import { parseReference, tryParseReference } from "../oci/reference.js";
import { exportDockerArchive } from "./archive/docker-archive.js";
import { type ArchiveFormat, importArchive } from "./archive/import-archive.js";
import { exportOciArchive } from "./archive/oci-archive.js";
import type { ImageStore } from "./image-store.js";

/**
 * Imports `file` into the store, in whichever format it is (see `importArchive`). Names are
 * normalised to full references (an OCI archive's bare tag `t` becomes `docker.io/library/t:latest`);
 * `tag` names the image when the archive names none. Resolves with the names (or root digests).
 */
export async function importArchiveToStore(store: ImageStore, file: string, tag?: string): Promise<string[]> {
  const name = tag === undefined ? undefined : parseReference(tag).toString();
  const { images } = await importArchive(
    file,
    store.content,
    store.layout,
    name === undefined ? {} : { name },
  );
  const names: string[] = [];
  for (const img of images) {
    if (img.name === undefined) {
      names.push(img.descriptor.digest);
      continue;
    }
    const normal = tryParseReference(img.name)?.toString();
    if (normal !== undefined && normal !== img.name) {
      await store.layout.set(normal, img.descriptor);
      await store.layout.remove(img.name);
      names.push(normal);
    } else {
      names.push(img.name);
    }
  }
  return names;
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
