/**
 * The one small interface every place an image can live implements, so that `copyImage` is
 * written once: a registry (`docker://`), an OCI layout (`oci:DIR`), pier's own store, and the
 * archives. Blobs are streams, never buffers; manifests are raw bytes (their digest is theirs).
 */
import type { Readable } from "node:stream";
import type { Digest } from "../../oci/digest.js";
import type { Descriptor } from "../../oci/types.js";
import type { BytesCallback, FetchedManifest, UploadResult } from "../client.js";

/** Where a registry image lives, for cross-repository mounts. */
export interface RegistryLocation {
  registry: string;
  repository: string;
}

/** Somewhere images are read from. */
export interface ImageSource {
  /** Human name for messages, e.g. `docker://localhost:5000/busybox:latest`. */
  readonly name: string;
  /** Set for registry sources: lets a destination on the same registry mount instead of copy. */
  readonly location?: RegistryLocation;
  /** The manifest the reference names (`undefined`), or one by digest. Bytes verified. */
  getManifest(digest?: Digest): Promise<FetchedManifest>;
  /**
   * A blob's bytes; the stream errors if they do not match the descriptor, unless `verify` is
   * false because the consumer verifies them itself (saves hashing every byte twice).
   */
  getBlob(desc: Descriptor, onBytes?: BytesCallback, opts?: { verify?: boolean }): Promise<Readable>;
  /** Manifests whose `subject` is `digest` (the referrers API or its fallback). */
  listReferrers?(digest: Digest): Promise<Descriptor[]>;
  close(): Promise<void>;
}

/** Somewhere images are written to. */
export interface ImageDestination {
  readonly name: string;
  readonly location?: RegistryLocation;
  /** True when `putBlob` itself refuses bytes that do not match the descriptor's digest. */
  readonly verifiesBlobs: boolean;
  /** True when the destination already holds this blob. */
  hasBlob(desc: Descriptor): Promise<boolean>;
  /**
   * Stores a blob, verifying it; `open` may be called again to restart. `mountFrom` names a source
   * location on the same registry to mount from.
   */
  putBlob(
    desc: Descriptor,
    open: () => Promise<Readable>,
    opts: { onBytes?: BytesCallback; mountFrom?: RegistryLocation },
  ): Promise<UploadResult>;
  /**
   * Stores a manifest (children and referrers before the root). `root` marks the manifest the
   * destination reference names (it is tagged); others are stored by digest only.
   */
  putManifest(manifest: FetchedManifest, opts: { root: boolean }): Promise<void>;
  /** Called once after everything was copied (an archive is written here); not called on failure. */
  commit?(): Promise<void>;
  close(): Promise<void>;
}
