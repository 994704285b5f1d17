/**
 * Test fixture: a small, valid OCI image (one or two layers of real files, a config, a manifest)
 * written into any `ContentStore`, for tests of stores, layouts, GC and archives. Layers are made
 * with the system `tar` from a temp directory, so they are real tars that other tools unpack.
 * Not part of the library API.
 */
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { OciLayout } from "../content/layout.js";
import { LocalContentStore } from "../content/local-store.js";
import type { ContentStore } from "../content/store.js";
import { digestOf } from "../oci/digest.js";
import { type Compression, MediaType, ociLayerMediaType } from "../oci/media-types.js";
import type { Descriptor, ImageConfig, ImageManifest } from "../oci/types.js";
import { makeTempDir, removeTempDir } from "./busybox.js";

/** What {@link writeTinyImage} stored. */
export interface TinyImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** Uncompressed layer digests, in order. */
  diffIds: string[];
}

/**
 * Writes an image whose layers hold `files` (one layer per entry: path → content) into `store`.
 * With `compression`, layers are stored gzip- or zstd-compressed (diff ids stay those of the plain
 * tars); zstd uses the `zstd` command.
 */
export async function writeTinyImage(
  store: ContentStore,
  files: Record<string, string>[] = [{ "hello.txt": "hello\n" }, { "etc/motd": "welcome\n" }],
  options: { compression?: Compression } = {},
): Promise<TinyImage> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const layerFiles of files) {
    const dir = await makeTempDir("pier-tiny-");
    try {
      for (const [path, content] of Object.entries(layerFiles)) {
        await mkdir(join(dir, path, ".."), { recursive: true });
        await writeFile(join(dir, path), content);
      }
      const tar = execFileSync("tar", [
        "--sort=name",
        "--mtime=@0",
        "--owner=0",
        "--group=0",
        "-C",
        dir,
        "-cf",
        "-",
        ".",
      ]);
      diffIds.push(digestOf(tar));
      const compression = options.compression ?? "none";
      const blob =
        compression === "gzip"
          ? gzipSync(tar)
          : compression === "zstd"
            ? execFileSync("zstd", ["-q", "-c"], { input: tar })
            : tar;
      const info = await store.ingest(blob);
      layers.push({ mediaType: ociLayerMediaType(compression), ...info });
    } finally {
      await removeTempDir(dir);
    }
  }
  const configDoc: ImageConfig = {
    created: "2024-01-01T00:00:00Z",
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["/bin/sh"], Env: ["PATH=/bin"] },
    rootfs: { type: "layers", diff_ids: diffIds as ImageConfig["rootfs"]["diff_ids"] },
    history: files.map(() => ({ created: "2024-01-01T00:00:00Z", created_by: "tiny-image" })),
  };
  const config: Descriptor = {
    mediaType: MediaType.OciConfig,
    ...(await store.ingest(JSON.stringify(configDoc))),
  };
  const manifestDoc: ImageManifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers };
  const manifest: Descriptor = {
    mediaType: MediaType.OciManifest,
    ...(await store.ingest(JSON.stringify(manifestDoc))),
  };
  return { manifest, config, layers, diffIds };
}

/** A `LocalContentStore` and an `OciLayout` on the same root, created if missing. */
export async function openImageLayout(
  root: string,
): Promise<{ store: LocalContentStore; layout: OciLayout }> {
  return { store: await LocalContentStore.open(root), layout: await OciLayout.open(root) };
}

/** How many blobs `store` holds, to check that a failed import left none behind. */
export async function blobCount(store: ContentStore): Promise<number> {
  let n = 0;
  for await (const _ of store.list()) n++;
  return n;
}
