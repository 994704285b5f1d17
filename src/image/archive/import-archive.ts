import type { OciLayout } from "../../content/layout.js";
import type { ContentStore } from "../../content/store.js";
import { importScannedDockerArchive, scanArchive } from "./docker-import.js";
import { ArchiveError } from "./error.js";
import type { ImportedImage, ImportOptions } from "./imported.js";
import { importOciArchive } from "./oci-archive.js";

/** The archive formats pier reads and writes. */
export type ArchiveFormat = "docker" | "oci";

/**
 * Imports an archive of either format, as `docker load` / `podman load` do: a docker archive
 * (it has `manifest.json`; docker 25+ archives, which are also OCI layouts, count as docker) or an
 * OCI archive (it has `oci-layout` and no `manifest.json`). Resolves the format used and the
 * images imported; see {@link importScannedDockerArchive} and {@link importOciArchive}.
 */
export async function importArchive(
  path: string,
  store: ContentStore,
  layout: OciLayout,
  options: ImportOptions = {},
): Promise<{ format: ArchiveFormat; images: ImportedImage[] }> {
  const scan = await scanArchive(path);
  if (scan.manifestText !== undefined) {
    return { format: "docker", images: await importScannedDockerArchive(path, scan, store, layout, options) };
  }
  if (scan.hasOciLayout)
    return { format: "oci", images: await importOciArchive(path, store, layout, options) };
  throw new ArchiveError(
    "INVALID_ARCHIVE",
    `${path} is neither a docker archive (no manifest.json) nor an OCI archive (no oci-layout)`,
  );
}
