import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OciLayout } from "../../content/layout.js";
import { LocalContentStore } from "../../content/local-store.js";
import { exportDockerArchive } from "./docker-export.js";
import { type ArchiveFormat, importArchive } from "./import-archive.js";
import type { ImportedImage, ImportOptions } from "./imported.js";
import { exportOciArchive } from "./oci-archive.js";

/** An archive unpacked into a private OCI layout, for code that reads layouts (an `oci:` source). */
export interface StagedArchive {
  /** The layout directory (a `LocalContentStore` + `OciLayout` root). */
  dir: string;
  format: ArchiveFormat;
  images: ImportedImage[];
  /** Removes the layout. */
  cleanup(): Promise<void>;
}

/**
 * Imports an archive of either format into a fresh temporary image layout, so that anything
 * that reads OCI layouts can read the archive (this is how an `oci-archive:`/`docker-archive:`
 * source works). Everything is verified as {@link importArchive} does; on failure nothing is left.
 */
export async function stageArchive(
  path: string,
  options: ImportOptions & { tmpDir?: string } = {},
): Promise<StagedArchive> {
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), "pier-archive-"));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const store = await LocalContentStore.open(dir);
    const layout = await OciLayout.open(dir);
    const { format, images } = await importArchive(
      path,
      store,
      layout,
      options.name ? { name: options.name } : {},
    );
    return { dir, format, images, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** A private OCI layout that becomes an archive when committed (an archive destination). */
export interface ArchiveStaging {
  /** The layout directory to write the image into. */
  dir: string;
  /** Writes the images named `names` in the layout to the archive path, then removes the layout. */
  commit(names: readonly string[]): Promise<void>;
  /** Removes the layout without writing anything. */
  cleanup(): Promise<void>;
}

/**
 * A fresh temporary image layout whose `commit` writes `out` in `format` (the archive appears
 * only once complete, see {@link exportDockerArchive} / {@link exportOciArchive}). This is how an
 * archive destination works: copy into `dir` as into any `oci:` layout, then commit.
 */
export async function createArchiveStaging(
  format: ArchiveFormat,
  out: string,
  tmpDir?: string,
): Promise<ArchiveStaging> {
  const dir = await mkdtemp(join(tmpDir ?? tmpdir(), "pier-archive-"));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  return {
    dir,
    cleanup,
    async commit(names) {
      try {
        const store = await LocalContentStore.open(dir);
        const layout = await OciLayout.open(dir);
        if (format === "docker") await exportDockerArchive(store, layout, names, out);
        else await exportOciArchive(store, layout, names, out);
      } finally {
        await cleanup();
      }
    },
  };
}
