import { randomBytes } from "node:crypto";
import { link, mkdir, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isErrno } from "../errors.js";
import { MediaType } from "../oci/media-types.js";
import type { ImageIndex } from "../oci/types.js";

/** Name of the directory, beside `blobs/`, where unverified data lives (skopeo and umoci ignore it). */
export const INGEST_DIR = "ingest";

/** The `imageLayoutVersion` pier writes. */
export const IMAGE_LAYOUT_VERSION = "1.0.0";

/** An index with no entries, as written into a new layout. */
export function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
}

/**
 * Makes `root` an OCI image layout if it is not one yet: `oci-layout`, an empty `index.json` and
 * `blobs/sha256/`. Existing files are never overwritten; concurrent callers are safe.
 */
export async function initLayout(root: string): Promise<void> {
  await mkdir(join(root, "blobs", "sha256"), { recursive: true });
  await writeIfMissing(
    join(root, "oci-layout"),
    `${JSON.stringify({ imageLayoutVersion: IMAGE_LAYOUT_VERSION })}\n`,
  );
  await writeIfMissing(join(root, "index.json"), `${JSON.stringify(emptyIndex())}\n`);
}

/** Creates `path` with `content` unless it exists; written aside and linked, so never seen empty. */
async function writeIfMissing(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(tmp, content, { mode: 0o644 });
  try {
    await link(tmp, path);
  } catch (err) {
    if (!isErrno(err, "EEXIST")) throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}
