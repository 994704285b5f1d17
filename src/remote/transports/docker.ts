/**
 * The `docker://REF` transport: a repository on a registry, through {@link RegistryClient}.
 * Pushing a manifest with a `subject` to a registry without the referrers API maintains the
 * spec's fallback tag index, so the referrer can be found everywhere.
 */
import type { Readable } from "node:stream";
import { referrerDescriptor } from "../../oci/artifact.js";
import type { Digest } from "../../oci/digest.js";
import { MediaType } from "../../oci/media-types.js";
import type { Reference } from "../../oci/reference.js";
import type { Descriptor, ImageIndex } from "../../oci/types.js";
import { parseManifestOrIndex } from "../../oci/validate.js";
import {
  type BytesCallback,
  type FetchedManifest,
  RegistryClient,
  type RegistryClientOptions,
  referrersTag,
  type UploadResult,
} from "../client.js";
import type { ImageDestination, ImageSource, RegistryLocation } from "./types.js";

/** Reads and writes one repository of a registry. */
export class RegistryImage implements ImageSource, ImageDestination {
  readonly name: string;
  readonly location: RegistryLocation;
  readonly client: RegistryClient;
  private ownsClient: boolean;

  /** `client` may be shared between several images of one registry (it is then not closed here). */
  constructor(
    readonly ref: Reference,
    opts: RegistryClientOptions & { client?: RegistryClient } = {},
  ) {
    this.name = `docker://${ref.toString()}`;
    this.location = { registry: ref.registry, repository: ref.repository };
    this.ownsClient = !opts.client;
    this.client = opts.client ?? new RegistryClient(ref.registry, opts);
  }

  /** Makes `close` close the client too (for a client made just for this image). */
  withOwnedClient(): this {
    this.ownsClient = true;
    return this;
  }

  getManifest(digest?: Digest): Promise<FetchedManifest> {
    return this.client.getManifest(this.ref.repository, digest ?? this.ref.identifier);
  }

  /** A registry checks the digest of every upload before it accepts it. */
  readonly verifiesBlobs = true;

  async getBlob(
    desc: Descriptor,
    onBytes?: BytesCallback,
    opts: { verify?: boolean } = {},
  ): Promise<Readable> {
    return this.client.getBlob(this.ref.repository, desc, {
      ...(onBytes ? { onBytes } : {}),
      verify: opts.verify !== false,
    });
  }

  async listReferrers(digest: Digest): Promise<Descriptor[]> {
    return (await this.client.listReferrers(this.ref.repository, digest)).index.manifests;
  }

  hasBlob(desc: Descriptor): Promise<boolean> {
    return this.client.hasBlob(this.ref.repository, desc.digest);
  }

  putBlob(
    desc: Descriptor,
    open: () => Promise<Readable>,
    opts: { onBytes?: BytesCallback; mountFrom?: RegistryLocation },
  ): Promise<UploadResult> {
    const mountFrom =
      opts.mountFrom && opts.mountFrom.registry === this.ref.registry ? [opts.mountFrom.repository] : [];
    return this.client.putBlob(this.ref.repository, desc, open, {
      mountFrom,
      ...(opts.onBytes ? { onBytes: opts.onBytes } : {}),
    });
  }

  async putManifest(manifest: FetchedManifest, opts: { root: boolean }): Promise<void> {
    const repo = this.ref.repository;
    const reference = opts.root && this.ref.tag && !this.ref.digest ? this.ref.tag : manifest.digest;
    const res = await this.client.putManifest(repo, reference, manifest.bytes, manifest.mediaType);
    const subject = subjectOf(manifest);
    if (subject && !res.subjectProcessed) {
      await this.addToFallbackIndex(subject, manifest);
    }
  }

  /** Adds `manifest` to the fallback referrers index of `subject` (read, add, put; idempotent). */
  private async addToFallbackIndex(subject: Digest, manifest: FetchedManifest): Promise<void> {
    const repo = this.ref.repository;
    const index: ImageIndex = await this.client.fallbackReferrers(repo, subject);
    if (index.manifests.some((m) => m.digest === manifest.digest)) return;
    const parsed = parseManifestOrIndex(manifest.bytes, manifest.mediaType);
    const doc = parsed.kind === "manifest" ? parsed.manifest : parsed.index;
    index.manifests.push(referrerDescriptor(manifest.bytes, doc));
    index.mediaType = MediaType.OciIndex;
    const bytes = Buffer.from(JSON.stringify(index));
    await this.client.putManifest(repo, referrersTag(subject), bytes, MediaType.OciIndex);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }
}

/** The subject digest of a manifest, if it has one. Pure. */
export function subjectOf(manifest: FetchedManifest): Digest | undefined {
  try {
    const doc = JSON.parse(manifest.bytes.toString("utf8")) as { subject?: { digest?: unknown } };
    return typeof doc.subject?.digest === "string" ? (doc.subject.digest as Digest) : undefined;
  } catch {
    return undefined;
  }
}
