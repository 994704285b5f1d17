/**
 * pier's local image store: a content store plus named references, both in one OCI image
 * layout (`<root>/content`), so that skopeo and umoci can read it as `oci:<root>/content`.
 *
 * Names are full normalised references (`docker.io/library/busybox:latest`), kept in the
 * layout's `org.opencontainers.image.ref.name` annotations.
 */
import { join } from "node:path";
import { OciLayout } from "../content/layout.js";
import { LocalContentStore } from "../content/local-store.js";
import type { ContentStore } from "../content/store.js";
import type { Digest } from "../oci/digest.js";
import { isIndexMediaType } from "../oci/media-types.js";
import { hostPlatform, selectManifest } from "../oci/platform.js";
import { parseReference, tryParseReference } from "../oci/reference.js";
import type { Descriptor, ImageConfig, ImageManifest, Platform } from "../oci/types.js";
import { parseImageConfig, parseManifestOrIndex } from "../oci/validate.js";
import { ImageError } from "./error.js";

/** Default state directory, as DESIGN.md says. */
export const DEFAULT_ROOT = "/var/lib/pier";

/** The store root: `--root`, else `PIER_ROOT`, else `/var/lib/pier`. */
export function storeRoot(flag?: string): string {
  return flag ?? process.env.PIER_ROOT ?? DEFAULT_ROOT;
}

/** A named root of the store. */
export interface StoredImage {
  /** Full normalised reference. */
  name: string;
  descriptor: Descriptor;
}

/** One image (a single-platform manifest), fully read. */
export interface ResolvedImage {
  /** The name it was found under, if it was found by name. */
  name?: string;
  /** The root descriptor: the manifest, or the index it was picked from. */
  root: Descriptor;
  /** The manifest's descriptor. */
  descriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  configDigest: Digest;
}

/** Largest manifest, index or config read into memory (as the registry's limit). */
const MAX_DOCUMENT = 4 * 1024 * 1024;

/** Normalises a user's image name to the store's key; `undefined` when it is not a valid name. */
export function normalizeImageName(input: string): string | undefined {
  return tryParseReference(input)?.toString();
}

/** pier's local image store. */
export class ImageStore {
  readonly root: string;
  readonly content: LocalContentStore;
  readonly layout: OciLayout;
  /**
   * Manifests, indexes and configs already read, by digest: blobs never change under a digest,
   * so a long-lived store (pierd's) resolves an image without reading them again.
   */
  private readonly documents = new Map<Digest, Buffer>();

  private constructor(root: string, content: LocalContentStore, layout: OciLayout) {
    this.root = root;
    this.content = content;
    this.layout = layout;
  }

  /** The OCI layout directory (usable as skopeo's `oci:<dir>`). */
  get layoutDir(): string {
    return join(this.root, "content");
  }

  /** Opens the store at `root`, creating it when missing. */
  static async open(root: string): Promise<ImageStore> {
    const dir = join(root, "content");
    const layout = await OciLayout.open(dir);
    const content = new LocalContentStore(dir);
    return new ImageStore(root, content, layout);
  }

  /** Every named image. */
  async list(): Promise<StoredImage[]> {
    return (await this.layout.list()).map((n) => ({ name: n.name, descriptor: n.descriptor }));
  }

  /**
   * Finds a root by name (`busybox`, `localhost:5000/app:1`), by manifest digest, or by a
   * unique prefix (at least 4 hex characters) of a root digest or, as docker accepts image ids,
   * of the host platform's config digest.
   * Throws `IMAGE_NOT_FOUND` or `AMBIGUOUS_REFERENCE`.
   */
  async find(ref: string): Promise<StoredImage | { name?: undefined; descriptor: Descriptor }> {
    const all = await this.list();
    const name = normalizeImageName(ref);
    if (name !== undefined) {
      const byName = all.find((i) => i.name === name);
      if (byName) return byName;
      const parsed = parseReference(ref);
      if (parsed.digest) {
        const d = await this.descriptorFor(parsed.digest, all);
        if (d) return { descriptor: d };
      }
    }
    const hex = ref.startsWith("sha256:") ? ref.slice(7) : ref;
    if (/^[a-f0-9]{4,64}$/.test(hex)) {
      const hits = new Map<string, StoredImage>();
      for (const i of all) if (i.descriptor.digest.slice(7).startsWith(hex)) hits.set(i.descriptor.digest, i);
      // Docker's image id is the config digest: matched when no root digest is.
      if (hits.size === 0)
        for (const i of await this.byConfigPrefix(hex, all)) hits.set(i.descriptor.digest, i);
      if (hits.size === 1) return [...hits.values()][0]!;
      if (hits.size > 1) {
        throw new ImageError("AMBIGUOUS_REFERENCE", `image id prefix "${ref}" matches ${hits.size} images`);
      }
    }
    throw new ImageError("IMAGE_NOT_FOUND", `no such image: ${ref}`, { detail: { ref } });
  }

  /** The named images whose host-platform config digest starts with `hex` (damaged ones skipped). */
  private async byConfigPrefix(hex: string, all: StoredImage[]): Promise<StoredImage[]> {
    const hits: StoredImage[] = [];
    for (const i of all) {
      const config = await this.resolveDescriptor(i.descriptor).then(
        (r) => r.configDigest,
        () => undefined,
      );
      if (config?.slice(7).startsWith(hex)) hits.push(i);
    }
    return hits;
  }

  private async descriptorFor(digest: Digest, all: StoredImage[]): Promise<Descriptor | undefined> {
    const known = all.find((i) => i.descriptor.digest === digest);
    if (known) return known.descriptor;
    const info = await this.content.info(digest);
    if (!info) return undefined;
    const parsed = parseManifestOrIndex(await this.content.readBytes(digest, MAX_DOCUMENT));
    return { mediaType: parsed.mediaType, digest, size: info.size };
  }

  /** Reads and validates a manifest or index blob. */
  async readDocument(descriptor: Descriptor) {
    const bytes = await this.readSmallBlob(descriptor.digest);
    return { bytes, parsed: parseManifestOrIndex(bytes, descriptor.mediaType) };
  }

  /** Reads and validates an image config blob. */
  async readConfig(digest: Digest): Promise<ImageConfig> {
    return parseImageConfig(await this.readSmallBlob(digest));
  }

  /** A document blob, from {@link documents} when read before (parsed anew by each caller). */
  private async readSmallBlob(digest: Digest): Promise<Buffer> {
    const cached = this.documents.get(digest);
    if (cached) return cached;
    const bytes = await this.content.readBytes(digest, MAX_DOCUMENT);
    if (this.documents.size >= 256) this.documents.delete(this.documents.keys().next().value as Digest);
    this.documents.set(digest, bytes);
    return bytes;
  }

  /**
   * Resolves a reference to one image, picking from an index by platform (default: the host's).
   * Throws `IMAGE_NOT_FOUND`, or `NO_MATCHING_PLATFORM` naming what the index offers.
   */
  async resolveImage(ref: string, platform: Platform = hostPlatform()): Promise<ResolvedImage> {
    const found = await this.find(ref);
    return this.resolveDescriptor(found.descriptor, platform, found.name);
  }

  /** As {@link resolveImage}, starting from a descriptor. */
  async resolveDescriptor(
    root: Descriptor,
    platform: Platform = hostPlatform(),
    name?: string,
  ): Promise<ResolvedImage> {
    let descriptor = root;
    for (let depth = 0; depth < 4; depth++) {
      const { parsed } = await this.readDocument(descriptor);
      if (parsed.kind === "index") {
        descriptor = selectManifest(parsed.index, platform);
        continue;
      }
      const config = await this.readConfig(parsed.manifest.config.digest);
      return {
        ...(name === undefined ? {} : { name }),
        root,
        descriptor,
        manifest: parsed.manifest,
        config,
        configDigest: parsed.manifest.config.digest,
      };
    }
    throw new ImageError("INVALID_IMAGE", `${root.digest}: indexes nested too deeply`);
  }

  /** Gives the root that `ref` names a further name. */
  async tag(ref: string, newName: string): Promise<string> {
    const found = await this.find(ref);
    const name = parseReference(newName).toString();
    await this.layout.set(name, found.descriptor);
    return name;
  }

  /**
   * Removes a name. Given a digest or id, removes every name of that root. Blobs stay until
   * {@link ImageStore.gc}. Resolves with the names removed.
   */
  async remove(ref: string): Promise<string[]> {
    const found = await this.find(ref);
    const names =
      found.name !== undefined && normalizeImageName(ref) === found.name
        ? [found.name]
        : (await this.list())
            .filter((i) => i.descriptor.digest === found.descriptor.digest)
            .map((i) => i.name);
    for (const n of names) await this.layout.remove(n);
    return names;
  }

  /** The content store, typed as the interface (for code that only needs blobs). */
  get blobs(): ContentStore {
    return this.content;
  }
}

/** True when a descriptor points at an index (or Docker manifest list). */
export function isIndexDescriptor(d: Descriptor): boolean {
  return isIndexMediaType(d.mediaType);
}
