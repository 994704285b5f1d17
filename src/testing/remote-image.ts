/**
 * Test support (not library API): writes small test images into an OCI layout — a busybox image
 * (real rootfs, gzip tar) and images of random layers of given sizes, single or multi-arch.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { LocalContentStore } from "../content/local-store.js";
import { type Digest, DigestStream, digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import type { Descriptor, ImageIndex, ImageManifest, Platform } from "../oci/types.js";
import { LayoutImage } from "../remote/transports/oci-layout.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "./busybox.js";

async function putJson(store: LocalContentStore, mediaType: string, doc: unknown): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(doc));
  const digest = digestOf(bytes);
  await store.ingest(bytes, { digest, size: bytes.length });
  return { mediaType, digest, size: bytes.length };
}

async function putFile(store: LocalContentStore, path: string, mediaType: string): Promise<Descriptor> {
  const ds = new DigestStream();
  createReadStream(path).pipe(ds);
  const info = await store.ingest(ds);
  return { mediaType, digest: info.digest, size: info.size };
}

/** Writes a manifest of `layers` plus a config for `platform`; returns the manifest descriptor. */
async function writeImage(
  store: LocalContentStore,
  layers: Descriptor[],
  diffIds: Digest[],
  platform: Platform,
) {
  const config = await putJson(store, MediaType.OciConfig, {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Cmd: ["/bin/sh"] },
    rootfs: { type: "layers", diff_ids: diffIds },
  });
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers };
  return { ...(await putJson(store, MediaType.OciManifest, manifest)), platform };
}

/** Names `desc` `name` in the layout's index.json. */
async function tag(root: string, name: string, desc: Descriptor): Promise<void> {
  const image = await LayoutImage.open(root, name);
  const bytes = await image.store.readBytes(desc.digest);
  await image.putManifest({ bytes, mediaType: desc.mediaType, digest: desc.digest }, { root: true });
}

/** Writes a busybox image (one gzip layer) named `name` into the layout at `root`. */
export async function writeBusyboxImage(root: string, name: string, platform: Platform): Promise<Descriptor> {
  const store = await LocalContentStore.open(root);
  const tmp = await makeTempDir();
  try {
    await writeBusyboxRootfs(join(tmp, "rootfs"));
    execFileSync("tar", ["-C", join(tmp, "rootfs"), "-cf", join(tmp, "layer.tar"), "."]);
    const diffId = (await putFile(store, join(tmp, "layer.tar"), MediaType.OciLayer)).digest;
    execFileSync("gzip", ["-n", "-1", join(tmp, "layer.tar")]);
    const layer = await putFile(store, join(tmp, "layer.tar.gz"), MediaType.OciLayerGzip);
    const desc = await writeImage(store, [layer], [diffId], platform);
    await tag(root, name, desc);
    return desc;
  } finally {
    await removeTempDir(tmp);
  }
}

/**
 * Writes an image whose layers are random bytes of the given sizes, declared as `layerMediaType`
 * (registries and copies never look inside). Returns the manifest descriptor.
 */
export async function writeRandomImage(
  root: string,
  name: string,
  layerSizes: number[],
  platform: Platform = { os: "linux", architecture: "amd64" },
  layerMediaType: string = MediaType.OciLayer,
): Promise<Descriptor> {
  const store = await LocalContentStore.open(root);
  const layers: Descriptor[] = [];
  for (const size of layerSizes) {
    const chunks = (async function* () {
      let left = size;
      while (left > 0) {
        const n = Math.min(left, 4 << 20);
        left -= n;
        yield randomBytes(n);
      }
    })();
    const info = await store.ingest(chunks);
    layers.push({ mediaType: layerMediaType, digest: info.digest, size: info.size });
  }
  const desc = await writeImage(
    store,
    layers,
    layers.map((l) => l.digest),
    platform,
  );
  await tag(root, name, desc);
  return desc;
}

/** Writes an index over one small random image per platform, named `name`. */
export async function writeMultiArchImage(
  root: string,
  name: string,
  platforms: Platform[],
): Promise<Descriptor> {
  const store = await LocalContentStore.open(root);
  const manifests: Descriptor[] = [];
  for (const p of platforms) {
    manifests.push(
      await writeRandomImage(root, `tmp-${p.architecture}${p.variant ?? ""}`, [1000 + manifests.length], p),
    );
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
  const desc = await putJson(store, MediaType.OciIndex, index);
  await tag(root, name, desc);
  return desc;
}
