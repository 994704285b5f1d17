import type { OciLayout } from "../../content/layout.js";
import type { BlobInfo, ContentStore } from "../../content/store.js";
import { isPierError } from "../../errors.js";
import { digestOf } from "../../oci/digest.js";
import { MediaType, ociLayerMediaType } from "../../oci/media-types.js";
import { tryParseReference } from "../../oci/reference.js";
import type { Descriptor, ImageConfig, ImageManifest } from "../../oci/types.js";
import { parseImageConfig } from "../../oci/validate.js";
import { digestFromArchivePath, linkTarget, resolveLinks } from "./archive-path.js";
import { type DockerArchiveImage, parseDockerArchiveManifest } from "./docker-manifest.js";
import { ArchiveError } from "./error.js";
import {
  applyDefaultName,
  type ImportedImage,
  ImportJournal,
  type ImportOptions,
  recordImports,
} from "./imported.js";
import { MAX_DOCUMENT, sniffBlob, uncompressedInfo } from "./layer-blob.js";
import { archiveEntries } from "./tar-io.js";

const MAX_MANIFEST_JSON = 16 << 20;

/** The store key for a name from `RepoTags`: the normalised reference when it is one. */
function nameForTag(tag: string): string {
  return tryParseReference(tag)?.toString() ?? tag;
}

/**
 * Imports a docker archive (`docker save`, `skopeo copy … docker-archive:`, `podman save`; the
 * legacy `<id>/layer.tar` layout and docker 25+'s `blobs/sha256/`, optionally gzip-compressed)
 * into `store` and names its images in `layout`.
 *
 * Two streaming passes over the file: the first reads `manifest.json` and the links, the second
 * ingests only the files the images use, verifying each against the digest its name carries.
 * Then every layer is checked against its config's diff id (decompressing if it is compressed),
 * an OCI manifest is made for each image (config and layer bytes kept; media types OCI; a plain
 * tar layer is `application/vnd.oci.image.layer.v1.tar` with digest = diff id), and all names are
 * set in one layout update. On failure the blobs this import created are removed.
 */
export async function importDockerArchive(
  path: string,
  store: ContentStore,
  layout: OciLayout,
  options: ImportOptions = {},
): Promise<ImportedImage[]> {
  return importScannedDockerArchive(path, await scanArchive(path), store, layout, options);
}

/** What the first pass over an archive found: enough to tell its format and plan a docker import. */
export interface ArchiveScan {
  /** Text of `manifest.json`, when there is one (a docker archive). */
  manifestText?: string;
  /** Whether it has `oci-layout` (an OCI archive, or a docker 25+ archive, which is both). */
  hasOciLayout: boolean;
  links: Map<string, string>;
  files: Set<string>;
}

/** Reads an archive once, keeping only `manifest.json`, the file names and the links. */
export async function scanArchive(path: string): Promise<ArchiveScan> {
  const scan: ArchiveScan = { hasOciLayout: false, links: new Map(), files: new Set() };
  for await (const entry of archiveEntries(path)) {
    const { type, linkname } = entry.header;
    if ((type === "symlink" || type === "link") && linkname) {
      scan.links.set(entry.path, linkTarget(entry.path, linkname, type === "link"));
    } else if (type === "file" || type === "contiguous-file" || type === undefined) {
      scan.files.add(entry.path);
      if (entry.path === "oci-layout") scan.hasOciLayout = true;
      if (entry.path === "manifest.json") {
        if ((entry.header.size ?? 0) > MAX_MANIFEST_JSON)
          throw new ArchiveError("INVALID_ARCHIVE", "manifest.json is too large");
        const parts: Buffer[] = [];
        for await (const chunk of entry.data) parts.push(Buffer.from(chunk));
        scan.manifestText = Buffer.concat(parts).toString("utf8");
      }
    }
  }
  return scan;
}

/** The second half of {@link importDockerArchive}, given the first pass's {@link ArchiveScan}. */
export async function importScannedDockerArchive(
  path: string,
  scan: ArchiveScan,
  store: ContentStore,
  layout: OciLayout,
  options: ImportOptions = {},
): Promise<ImportedImage[]> {
  const { manifestText, links, files } = scan;
  if (manifestText === undefined) {
    const hint = scan.hasOciLayout ? " (it looks like an OCI archive: import it as one)" : "";
    throw new ArchiveError(
      "INVALID_ARCHIVE",
      `${path} is not a docker archive: it has no manifest.json${hint}`,
    );
  }
  const images = parseDockerArchiveManifest(manifestText);
  const resolved = images.map((img, i) => {
    const find = (p: string, field: string) => {
      const target = resolveLinks(p, links);
      if (!files.has(target)) {
        throw new ArchiveError(
          "MISSING_ENTRY",
          `manifest.json[${i}].${field}: ${JSON.stringify(p)} is not in the archive`,
        );
      }
      return target;
    };
    return {
      img,
      config: find(img.Config, "Config"),
      layers: img.Layers.map((l, j) => find(l, `Layers[${j}]`)),
    };
  });
  const needed = new Set(resolved.flatMap((r) => [r.config, ...r.layers]));

  const journal = new ImportJournal(store);
  try {
    const blobs = new Map<string, BlobInfo>();
    for await (const entry of archiveEntries(path)) {
      if (!needed.has(entry.path) || blobs.has(entry.path) || links.has(entry.path)) continue;
      const digest = digestFromArchivePath(entry.path);
      blobs.set(
        entry.path,
        await journal.ingest(
          entry.data,
          digest ? { digest, size: entry.header.size } : { size: entry.header.size },
        ),
      );
    }
    const imported: ImportedImage[] = [];
    for (const [i, r] of resolved.entries()) {
      const descriptor = await convertImage(store, journal, r, blobs, i);
      const tags = r.img.RepoTags ?? [];
      if (tags.length === 0) imported.push({ descriptor });
      for (const tag of tags) imported.push({ name: nameForTag(tag), descriptor });
    }
    const named = applyDefaultName(imported, options.name);
    await recordImports(layout, named);
    return named;
  } catch (err) {
    await journal.rollback();
    throw err;
  }
}

/** Checks one docker archive image against its config and stores its OCI manifest. */
async function convertImage(
  store: ContentStore,
  journal: ImportJournal,
  r: { img: DockerArchiveImage; config: string; layers: string[] },
  blobs: ReadonlyMap<string, BlobInfo>,
  i: number,
): Promise<Descriptor> {
  const configBlob = blobs.get(r.config)!;
  let config: ImageConfig;
  try {
    config = parseImageConfig(await store.readBytes(configBlob.digest, MAX_DOCUMENT));
  } catch (err) {
    if (!isPierError(err)) throw err;
    throw new ArchiveError("INVALID_ARCHIVE", `${r.config} (config of manifest.json[${i}]): ${err.message}`, {
      cause: err,
    });
  }
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== r.layers.length) {
    throw new ArchiveError(
      "INVALID_ARCHIVE",
      `manifest.json[${i}] lists ${r.layers.length} layers but its config ${r.config} has ${diffIds.length} diff ids`,
    );
  }
  const layers: Descriptor[] = [];
  for (const [j, p] of r.layers.entries()) {
    const blob = blobs.get(p)!;
    const compression = await sniffBlob(store, blob);
    const plain = await uncompressedInfo(store, blob, compression);
    if (plain.digest !== diffIds[j]) {
      throw new ArchiveError(
        "DIFF_ID_MISMATCH",
        `layer ${JSON.stringify(p)} of manifest.json[${i}]: uncompressed digest ${plain.digest} is not the diff id ${diffIds[j]} its config declares`,
        { detail: { layer: p, expected: diffIds[j], actual: plain.digest } },
      );
    }
    layers.push({ mediaType: ociLayerMediaType(compression), digest: blob.digest, size: blob.size });
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configBlob.digest, size: configBlob.size },
    layers,
  };
  const bytes = JSON.stringify(manifest);
  const info = await journal.ingest(bytes, { digest: digestOf(bytes), size: Buffer.byteLength(bytes) });
  return { mediaType: MediaType.OciManifest, digest: info.digest, size: info.size };
}
