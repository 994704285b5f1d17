/**
 * The `oci:DIR[:NAME]` transport, and pier's own store (the same layout, names being full
 * references): blobs in a {@link ContentStore}, names in the layout's `index.json` under the
 * `org.opencontainers.image.ref.name` annotation, as skopeo and umoci keep them.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { LocalContentStore } from "../../content/local-store.js";
import type { ContentStore } from "../../content/store.js";
import { type Digest, digestOf } from "../../oci/digest.js";
import { MediaType } from "../../oci/media-types.js";
import type { Descriptor, ImageIndex } from "../../oci/types.js";
import type { BytesCallback, FetchedManifest, UploadResult } from "../client.js";
import { MAX_MANIFEST_BYTES } from "../client.js";
import { countBytes } from "../counting.js";
import { RemoteError } from "../error.js";
import type { ImageDestination, ImageSource } from "./types.js";

/** The annotation that names an entry of an OCI layout's `index.json`. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

/** Reads a layout's `index.json`. */
export async function readLayoutIndex(root: string): Promise<ImageIndex> {
  const path = join(root, "index.json");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new RemoteError("NOT_FOUND", `${root}: not an OCI image layout (no index.json)`, { cause: err });
  }
  try {
    const index = JSON.parse(text) as ImageIndex;
    if (!Array.isArray(index.manifests)) throw new Error("no manifests array");
    return index;
  } catch (err) {
    throw new RemoteError("INVALID_RESPONSE", `${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Returns `index` with `desc` named `name` (replacing any entry of that name). Pure. */
export function withNamedEntry(index: ImageIndex, desc: Descriptor, name: string | undefined): ImageIndex {
  const manifests = index.manifests.filter((m) =>
    name === undefined
      ? m.digest !== desc.digest || m.annotations?.[REF_NAME_ANNOTATION] !== undefined
      : m.annotations?.[REF_NAME_ANNOTATION] !== name,
  );
  const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
  if (desc.platform) entry.platform = desc.platform;
  if (name !== undefined) entry.annotations = { [REF_NAME_ANNOTATION]: name };
  manifests.push(entry);
  return { ...index, schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
}

/** Picks the entry for `name`, or the only entry when no name is given. Pure. */
export function findNamedEntry(index: ImageIndex, name: string | undefined, where: string): Descriptor {
  if (name === undefined) {
    if (index.manifests.length === 1) return index.manifests[0]!;
    throw new RemoteError(
      "NOT_FOUND",
      `${where}: ${index.manifests.length === 0 ? "no images" : "several images; name one (oci:DIR:NAME)"}`,
    );
  }
  const found = index.manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === name);
  if (!found) throw new RemoteError("NOT_FOUND", `${where}: no image named ${JSON.stringify(name)}`);
  return found;
}

// One in-process queue per layout root, so parallel copies into one layout do not lose names.
const indexQueues = new Map<string, Promise<unknown>>();

/** An image in an OCI layout directory, by name (or the only one). */
export class LayoutImage implements ImageSource, ImageDestination {
  readonly name: string;

  private constructor(
    readonly root: string,
    readonly store: ContentStore,
    readonly refName: string | undefined,
    scheme: string,
  ) {
    this.name = `${scheme}:${root}${refName !== undefined ? `:${refName}` : ""}`;
  }

  /** Opens (creating when missing) the layout at `root` over pier's {@link LocalContentStore}. */
  static async open(
    root: string,
    refName?: string,
    opts: { scheme?: string; store?: ContentStore } = {},
  ): Promise<LayoutImage> {
    const store = opts.store ?? (await LocalContentStore.open(root));
    return new LayoutImage(root, store, refName, opts.scheme ?? "oci");
  }

  async getManifest(digest?: Digest): Promise<FetchedManifest> {
    let desc: Pick<Descriptor, "digest" | "mediaType"> | undefined;
    if (digest === undefined) {
      desc = findNamedEntry(await readLayoutIndex(this.root), this.refName, this.name);
    } else desc = { digest, mediaType: "" };
    let bytes: Buffer;
    try {
      bytes = await this.store.readBytes(desc.digest, MAX_MANIFEST_BYTES);
    } catch (err) {
      throw new RemoteError("NOT_FOUND", `${this.name}: manifest ${desc.digest} missing from the layout`, {
        cause: err,
      });
    }
    const actual = digestOf(bytes);
    if (actual !== desc.digest) {
      throw new RemoteError("DIGEST_MISMATCH", `${this.name}: blob ${desc.digest} holds ${actual}`);
    }
    let mediaType = desc.mediaType;
    try {
      const doc = JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown };
      if (typeof doc.mediaType === "string") mediaType = doc.mediaType;
    } catch (err) {
      throw new RemoteError("INVALID_RESPONSE", `${this.name}: manifest ${desc.digest} is not JSON`, {
        cause: err,
      });
    }
    return { bytes, mediaType, digest: desc.digest };
  }

  /** The content store verifies every ingest. */
  readonly verifiesBlobs = true;

  /** Blobs of the store were verified when they were written; they are read as they are. */
  async getBlob(desc: Descriptor, onBytes?: BytesCallback): Promise<Readable> {
    return countBytes(await this.store.read(desc.digest), onBytes);
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    return (await this.store.info(desc.digest)) !== undefined;
  }

  async putBlob(
    desc: Descriptor,
    open: () => Promise<Readable>,
    opts: { onBytes?: BytesCallback },
  ): Promise<UploadResult> {
    if (await this.hasBlob(desc)) return "exists";
    const src = countBytes(await open(), opts.onBytes);
    await this.store.ingest(src, { digest: desc.digest, size: desc.size });
    return "uploaded";
  }

  async putManifest(manifest: FetchedManifest, opts: { root: boolean }): Promise<void> {
    await this.store.ingest(manifest.bytes, { digest: manifest.digest, size: manifest.bytes.length });
    if (!opts.root) return;
    const desc: Descriptor = {
      mediaType: manifest.mediaType,
      digest: manifest.digest,
      size: manifest.bytes.length,
    };
    await this.updateIndex((index) => withNamedEntry(index, desc, this.refName));
  }

  /** Rewrites `index.json` atomically through `change`, serialised per layout in this process. */
  async updateIndex(change: (index: ImageIndex) => ImageIndex): Promise<void> {
    const prev = indexQueues.get(this.root) ?? Promise.resolve();
    const next = prev
      .catch(() => undefined)
      .then(async () => {
        const index = change(await readLayoutIndex(this.root));
        const path = join(this.root, "index.json");
        const tmp = `${path}.${process.pid}.tmp`;
        await writeFile(tmp, `${JSON.stringify(index)}\n`);
        await rename(tmp, path);
      });
    indexQueues.set(this.root, next);
    await next;
  }

  async close(): Promise<void> {}
}
