import type { Readable, Writable } from "node:stream";
import type { OciLayout } from "../../content/layout.js";
import type { BlobInfo, ContentStore } from "../../content/store.js";
import { isPierError } from "../../errors.js";
import { decompress, sniffCompression } from "../../layer/compression.js";
import { type Digest, Digester, digestOf } from "../../oci/digest.js";
import {
  type Compression,
  isIndexMediaType,
  layerCompression,
  MediaType,
  ociLayerMediaType,
} from "../../oci/media-types.js";
import { hostPlatform, selectManifest } from "../../oci/platform.js";
import { tryParseReference } from "../../oci/reference.js";
import type { Descriptor, ImageConfig, ImageManifest, Platform } from "../../oci/types.js";
import { parseImageConfig, parseIndex, parseManifest } from "../../oci/validate.js";
import { digestFromArchivePath, linkTarget, resolveLinks } from "./archive-path.js";
import {
  configPath,
  type DockerArchiveImage,
  type DockerExportImage,
  dockerArchiveFiles,
  layerPath,
  parseDockerArchiveManifest,
} from "./docker-manifest.js";
import { ArchiveError } from "./error.js";
import {
  applyDefaultName,
  type ImportedImage,
  ImportJournal,
  type ImportOptions,
  recordImports,
} from "./imported.js";
import { archiveEntries, writeArchive, writeEntry } from "./tar-io.js";

const MAX_MANIFEST_JSON = 16 << 20;
const MAX_DOCUMENT = 4 << 20;

/** Digest and size of a (possibly compressed) layer's uncompressed tar, read from the store. */
async function uncompressedInfo(
  store: ContentStore,
  blob: BlobInfo,
  compression: Compression,
): Promise<BlobInfo> {
  if (compression === "none") return blob;
  const digester = new Digester("sha256");
  for await (const chunk of decompress(await store.read(blob.digest), compression))
    digester.update(chunk as Buffer);
  return { digest: digester.digest(), size: digester.size };
}

/** The compression a stored blob is in, judged by its first bytes (an empty blob is plain). */
async function sniffBlob(store: ContentStore, blob: BlobInfo): Promise<Compression> {
  if (blob.size === 0) return "none";
  const parts: Buffer[] = [];
  for await (const chunk of await store.read(blob.digest, { start: 0, end: Math.min(blob.size, 8) - 1 }))
    parts.push(chunk as Buffer);
  return sniffCompression(Buffer.concat(parts)) ?? "none";
}

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

/** Options of {@link exportDockerArchive}. */
export interface DockerExportOptions {
  /** Platform picked from multi-platform images (default: this host's). */
  platform?: Platform;
}

interface ExportLayer {
  blob: Descriptor;
  diffId: Digest;
  compression: Compression;
  size: number;
}

/**
 * Writes a docker archive (what `docker load`, `podman load` and `skopeo copy docker-archive:`
 * read) of the images named `names` in `layout`: `<config hex>.json`, one uncompressed
 * `<diff id hex>.tar` per layer, `manifest.json` and `repositories`. Compressed layers (gzip,
 * zstd) are decompressed on the fly and checked against their diff ids before being written;
 * nothing is held in memory. A path `out` appears only once complete.
 */
export async function exportDockerArchive(
  store: ContentStore,
  layout: OciLayout,
  names: readonly string[],
  out: Writable | string,
  options: DockerExportOptions = {},
): Promise<DockerArchiveImage[]> {
  const byManifest = new Map<Digest, DockerExportImage>();
  const layers = new Map<Digest, ExportLayer>();
  const configs = new Map<Digest, BlobInfo>();
  for (const name of names) {
    const root = await layout.resolve(name);
    if (!root)
      throw new ArchiveError("IMAGE_NOT_FOUND", `no image named ${JSON.stringify(name)} in ${layout.root}`, {
        detail: { name },
      });
    const manifestDesc = await pickManifest(store, root, options.platform ?? hostPlatform());
    const ref = tryParseReference(name);
    const tag = ref && ref.digest === undefined ? ref.toString() : undefined;
    const known = byManifest.get(manifestDesc.digest);
    if (known) {
      if (tag && !known.repoTags.includes(tag)) known.repoTags.push(tag);
      continue;
    }
    const manifest = parseManifest(await store.readBytes(manifestDesc.digest, MAX_DOCUMENT));
    const config = parseImageConfig(await store.readBytes(manifest.config.digest, MAX_DOCUMENT));
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new ArchiveError(
        "UNSUPPORTED",
        `image ${name}: its manifest has ${manifest.layers.length} layers but its config ${diffIds.length} diff ids`,
      );
    }
    for (const [j, layer] of manifest.layers.entries()) {
      const diffId = diffIds[j]!;
      if (layers.has(diffId)) continue;
      const compression = layerCompression(layer.mediaType);
      if (!compression) {
        throw new ArchiveError(
          "UNSUPPORTED",
          `image ${name}: ${layer.mediaType} (layer ${j}) is not a layer docker can load`,
        );
      }
      const plain = await uncompressedInfo(store, layer, compression);
      if (plain.digest !== diffId) {
        throw new ArchiveError(
          "DIFF_ID_MISMATCH",
          `image ${name}: layer ${layer.digest} uncompresses to ${plain.digest}, not the diff id ${diffId} its config declares`,
          { detail: { layer: layer.digest, expected: diffId, actual: plain.digest } },
        );
      }
      layers.set(diffId, { blob: layer, diffId, compression, size: plain.size });
    }
    configs.set(manifest.config.digest, { digest: manifest.config.digest, size: manifest.config.size });
    byManifest.set(manifestDesc.digest, {
      configDigest: manifest.config.digest,
      diffIds,
      repoTags: tag ? [tag] : [],
    });
  }
  const images = [...byManifest.values()];
  const files = dockerArchiveFiles(images);
  await writeArchive(out, async (pack) => {
    for (const c of configs.values())
      await writeEntry(pack, configPath(c.digest), await store.read(c.digest), c.size);
    for (const l of layers.values()) {
      const raw: Readable = await store.read(l.blob.digest);
      const data = l.compression === "none" ? raw : decompress(raw, l.compression);
      await writeEntry(pack, layerPath(l.diffId), data, l.size);
    }
    await writeEntry(pack, "manifest.json", Buffer.from(files.manifest));
    await writeEntry(pack, "repositories", Buffer.from(files.repositories));
  });
  return parseDockerArchiveManifest(files.manifest);
}

/** The image manifest `root` stands for: itself, or the entry of an index best matching `platform`. */
async function pickManifest(store: ContentStore, root: Descriptor, platform: Platform): Promise<Descriptor> {
  let current = root;
  for (let depth = 0; depth < 4 && isIndexMediaType(current.mediaType); depth++) {
    current = selectManifest(parseIndex(await store.readBytes(current.digest, MAX_DOCUMENT)), platform);
  }
  return current;
}
