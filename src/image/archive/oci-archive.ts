import type { Writable } from "node:stream";
import { reachableDigests } from "../../content/gc.js";
import { refNameOf } from "../../content/index-refs.js";
import type { OciLayout } from "../../content/layout.js";
import type { BlobInfo, ContentStore } from "../../content/store.js";
import { digestAlgorithm, digestHex } from "../../oci/digest.js";
import { MediaType } from "../../oci/media-types.js";
import type { Descriptor, ImageIndex } from "../../oci/types.js";
import { parseJsonObject, parseOciLayout, validateIndex } from "../../oci/validate.js";
import { imageChildren } from "../children.js";
import { digestFromArchivePath } from "./archive-path.js";
import { ArchiveError } from "./error.js";
import {
  applyDefaultName,
  checkComplete,
  type ImportedImage,
  ImportJournal,
  type ImportOptions,
  recordImports,
} from "./imported.js";
import { archiveEntries, writeArchive, writeDirectory, writeEntry } from "./tar-io.js";

// index.json and oci-layout are read into memory; anything larger is not a sane archive.
const MAX_INDEX_BYTES = 16 << 20;

async function readSmall(data: AsyncIterable<Uint8Array>, what: string): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of data) {
    size += chunk.length;
    if (size > MAX_INDEX_BYTES)
      throw new ArchiveError("INVALID_ARCHIVE", `${what} is larger than ${MAX_INDEX_BYTES} bytes`);
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts).toString("utf8");
}

/** The roots to export: the entries named `names` (all entries when `names` is empty), each carrying its name. */
async function exportRoots(layout: OciLayout, names: readonly string[]): Promise<Descriptor[]> {
  if (names.length === 0) return layout.roots();
  const roots: Descriptor[] = [];
  for (const name of names) {
    const d = await layout.resolve(name);
    if (!d)
      throw new ArchiveError("IMAGE_NOT_FOUND", `no image named ${JSON.stringify(name)} in ${layout.root}`, {
        detail: { name },
      });
    roots.push(d);
  }
  return roots;
}

/**
 * Writes an OCI archive (a tar of an image layout, what `skopeo copy … oci-archive:` reads) of the
 * images named `names` (every root when empty) with every blob they reach, streamed from the
 * store. A path `out` appears only once complete. Throws `IMAGE_NOT_FOUND` for an unknown name
 * and `MISSING_ENTRY` when a reachable blob is not in the store.
 */
export async function exportOciArchive(
  store: ContentStore,
  layout: OciLayout,
  names: readonly string[],
  out: Writable | string,
): Promise<ImageIndex> {
  const roots = await exportRoots(layout, names);
  const digests = [...(await reachableDigests(roots, imageChildren(store)))].sort();
  const blobs: BlobInfo[] = [];
  for (const digest of digests) {
    const info = await store.info(digest);
    if (!info)
      throw new ArchiveError(
        "MISSING_ENTRY",
        `blob ${digest} is not in the local store; the image is incomplete`,
        { detail: { digest } },
      );
    blobs.push(info);
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: roots };
  await writeArchive(out, async (pack) => {
    await writeEntry(pack, "oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
    await writeDirectory(pack, "blobs/");
    const dirs = new Set<string>();
    for (const blob of blobs) {
      const alg = digestAlgorithm(blob.digest);
      if (!dirs.has(alg)) {
        dirs.add(alg);
        await writeDirectory(pack, `blobs/${alg}/`);
      }
      await writeEntry(
        pack,
        `blobs/${alg}/${digestHex(blob.digest)}`,
        await store.read(blob.digest),
        blob.size,
      );
    }
    await writeEntry(pack, "index.json", Buffer.from(JSON.stringify(index)));
  });
  return index;
}

/**
 * Imports an OCI archive (a tar, optionally gzip/zstd-compressed, of an image layout) in one
 * streaming pass: every blob is verified against the digest its path names and the size its
 * header gives, `index.json` and `oci-layout` are validated, and every blob the index reaches
 * must be present. Only then are its named entries set in `layout` (unnamed ones added as roots).
 * On failure the blobs this import created are removed and the layout is untouched.
 */
export async function importOciArchive(
  path: string,
  store: ContentStore,
  layout: OciLayout,
  options: ImportOptions = {},
): Promise<ImportedImage[]> {
  const journal = new ImportJournal(store);
  try {
    let indexText: string | undefined;
    let sawLayout = false;
    for await (const entry of archiveEntries(path)) {
      const type = entry.header.type ?? "file";
      if (type !== "file" && type !== "contiguous-file") continue;
      if (entry.path === "oci-layout") {
        parseOciLayout(await readSmall(entry.data, "oci-layout"));
        sawLayout = true;
      } else if (entry.path === "index.json") {
        indexText = await readSmall(entry.data, "index.json");
      } else if (entry.path.startsWith("blobs/")) {
        const digest = digestFromArchivePath(entry.path);
        if (!digest)
          throw new ArchiveError(
            "INVALID_ARCHIVE",
            `archive entry ${JSON.stringify(entry.path)} is not named by a valid digest`,
          );
        await journal.ingest(entry.data, { digest, size: entry.header.size });
      }
    }
    if (!sawLayout)
      throw new ArchiveError("INVALID_ARCHIVE", `${path} is not an OCI archive: it has no oci-layout file`);
    if (indexText === undefined)
      throw new ArchiveError("INVALID_ARCHIVE", `${path} is not an OCI archive: it has no index.json`);
    const index = validateIndex(parseJsonObject(indexText, "index.json"), "index.json");
    await checkComplete(store, index.manifests);
    const imported = index.manifests.map((descriptor): ImportedImage => {
      const name = refNameOf(descriptor);
      return name !== undefined ? { name, descriptor } : { descriptor };
    });
    const named = applyDefaultName(imported, options.name);
    await recordImports(layout, named);
    return named;
  } catch (err) {
    await journal.rollback();
    throw err;
  }
}
