/**
 * The `oci:DIR[:NAME]` transport, and pier's own store (the same layout, names being full
 * references): blobs in a {@link ContentStore}, names in the layout's `index.json` under the
 * `org.opencontainers.image.ref.name` annotation, as skopeo and umoci keep them.
 */
import type { Readable } from "node:stream";
import { OciLayout } from "../../content/layout.js";
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

/** Returns `index` with an unnamed entry for `desc` (replacing an unnamed one of the same digest). Pure. */
export function withUnnamedEntry(index: ImageIndex, desc: Descriptor): ImageIndex {
  const manifests = index.manifests.filter(
    (m) => m.digest !== desc.digest || m.annotations?.[REF_NAME_ANNOTATION] !== undefined,
  );
  manifests.push({ mediaType: desc.mediaType, digest: desc.digest, size: desc.size });
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

/** An image in an OCI layout directory, by name (or the only one). */
export class LayoutImage implements ImageSource, ImageDestination {
  readonly name: string;

  private constructor(
    readonly root: string,
    readonly store: ContentStore,
    readonly layout: OciLayout,
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
    return new LayoutImage(root, store, await OciLayout.open(root), refName, opts.scheme ?? "oci");
  }

  async getManifest(digest?: Digest): Promise<FetchedManifest> {
    let desc: Pick<Descriptor, "digest" | "mediaType"> | undefined;
    if (digest === undefined) {
      desc = findNamedEntry(await this.layout.read(), this.refName, this.name);
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
    if (this.refName !== undefined) await this.layout.set(this.refName, desc);
    else await this.layout.update((index) => ({ index: withUnnamedEntry(index, desc), result: undefined }));
  }

  /** Nothing to finish: every write above is already durable and visible. */
  async commit(): Promise<void> {}

  async close(): Promise<void> {}
}
