import type { Readable } from "node:stream";
import type { Digest } from "../oci/digest.js";

/** What the store knows about one blob: its digest and size. Nothing else. */
export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** What an ingest must match; checked before the blob becomes visible. */
export interface Expected {
  digest?: Digest;
  size?: number;
}

/** Byte source accepted by an ingest. */
export type BlobSource = Readable | AsyncIterable<Uint8Array> | Uint8Array | string;

/**
 * A resumable write of one blob, keyed by a caller-chosen `ref` (an upload session id, a layer
 * digest being pulled). Data goes to a private temp file; `commit` verifies size and digest and
 * only then publishes the blob atomically. A writer reopened with the same ref after a crash
 * continues at `offset`.
 */
export interface ContentWriter {
  readonly ref: string;
  /** Bytes written so far (the resume point). */
  readonly offset: number;
  /** Appends bytes at `offset`. */
  write(chunk: Uint8Array): Promise<void>;
  /** Appends a whole stream at `offset` (each chunk written before the next is asked for); resolves with the new offset. */
  writeStream(source: BlobSource): Promise<number>;
  /** Verifies and publishes. Throws `ContentError` `DIGEST_MISMATCH`/`SIZE_MISMATCH` and deletes the data on mismatch. */
  commit(expected: Expected): Promise<BlobInfo>;
  /** Deletes the partial data. */
  abort(): Promise<void>;
  /** Closes the file handle, keeping the partial data for a later resume. */
  close(): Promise<void>;
}

/** What {@link ContentStore.pruneIngest} may remove. */
export interface PruneIngestOptions {
  /** Resumable data untouched this long is removed when its writer is not open (default one day). */
  maxAgeMs?: number;
  /**
   * The refs whose resumable data must be kept (e.g. the open upload sessions); when given,
   * data of any other ref is removed once untouched for `unknownRefGraceMs`.
   */
  liveRefs?: Iterable<string>;
  /** Default 10 minutes. */
  unknownRefGraceMs?: number;
}

/**
 * A content-addressable blob store (the model is containerd's content store): blobs by digest,
 * verified while written, published atomically, never visible partially. It never parses what
 * it stores.
 */
export interface ContentStore {
  /** Size and digest of a blob, or `undefined` when absent. */
  info(digest: Digest): Promise<BlobInfo | undefined>;
  /** A stream of a blob's bytes, optionally a byte range (`end` inclusive). Throws `NOT_FOUND`. */
  read(digest: Digest, range?: { start: number; end?: number }): Promise<Readable>;
  /** A whole blob in memory, refusing blobs larger than `maxBytes` (for manifests and configs). */
  readBytes(digest: Digest, maxBytes?: number): Promise<Buffer>;
  /**
   * Ingests bytes, verifying `expected` before publishing; safe when two processes ingest one blob.
   * A chunk of an iterable source is done with before the next is asked for (a source may reuse
   * one buffer: the registry's request bodies do).
   */
  ingest(source: BlobSource, expected?: Expected): Promise<BlobInfo>;
  /** Opens (or resumes) a writer for `ref`. */
  writer(ref: string): Promise<ContentWriter>;
  /** Removes a blob; resolves `false` when it was absent. */
  delete(digest: Digest): Promise<boolean>;
  /** Every blob in the store. */
  list(): AsyncIterable<BlobInfo>;
  /** The file that holds a published blob (for hard links, sendfile, `fs.open`). */
  blobPath(digest: Digest): string;
  /**
   * Removes what interrupted ingests left behind (temp files of dead processes, stale resumable
   * data), never a published blob nor the data of a writer that is open; resolves the names.
   * Optional: a store without private leftovers need not have it.
   */
  pruneIngest?(options?: PruneIngestOptions): Promise<string[]>;
}
