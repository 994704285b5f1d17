import { createHash, type Hash } from "node:crypto";
import { type FileHandle, open, stat, unlink } from "node:fs/promises";
import type { Digest, DigestAlgorithm } from "../oci/digest.js";
import { digestAlgorithm } from "../oci/digest.js";
import { ContentError } from "./error.js";
import { BLOB_MODE, publishFile } from "./fs-util.js";
import type { FileLock } from "./lock.js";
import { chunksOf } from "./source.js";
import type { BlobInfo, BlobSource, ContentWriter, Expected } from "./store.js";
import { checkExpected } from "./verify.js";

// Hash states of writers closed by this process, so that reopening a ref (one per HTTP chunk of
// a registry upload) does not re-read the whole prefix. Trusted only while size and mtime match.
const resumeCache = new Map<
  string,
  { size: number; mtimeMs: number; algorithm: DigestAlgorithm; hash: Hash }
>();

/** Where a {@link LocalContentWriter} keeps its data and how it publishes. */
export interface WriterPaths {
  /** The partial data file (persists across restarts). */
  data: string;
  /** Where the verified blob goes, given its digest. */
  blobPath: (digest: Digest) => string;
  /** Creates the parent directory of a blob path. */
  prepareBlobDir: (digest: Digest) => Promise<void>;
}

async function hashFile(fh: FileHandle, algorithm: DigestAlgorithm, upTo: number): Promise<Hash> {
  const hash = createHash(algorithm);
  const buf = Buffer.allocUnsafe(1 << 20);
  let pos = 0;
  while (pos < upTo) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, upTo - pos), pos);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return hash;
}

/**
 * The resumable writer of {@link LocalContentStore}: appends to a private data file under the
 * store's ingest directory, holding a per-ref lock so that one ref has one writer at a time
 * across processes. Reopening a ref re-hashes the data already there and continues at its end.
 * `commit` fsyncs, verifies size and digest, and publishes atomically; on mismatch the data is
 * deleted.
 */
export class LocalContentWriter implements ContentWriter {
  readonly ref: string;
  private readonly paths: WriterPaths;
  private readonly lock: FileLock;
  private fh: FileHandle | undefined;
  private hash: Hash;
  private readonly algorithm: DigestAlgorithm;
  private written: number;

  private constructor(
    ref: string,
    paths: WriterPaths,
    lock: FileLock,
    fh: FileHandle,
    hash: Hash,
    algorithm: DigestAlgorithm,
    size: number,
  ) {
    this.ref = ref;
    this.paths = paths;
    this.lock = lock;
    this.fh = fh;
    this.hash = hash;
    this.algorithm = algorithm;
    this.written = size;
  }

  /** Opens the data file of `ref` (creating it), re-hashing any existing prefix. The caller has taken `lock`. */
  static async open(
    ref: string,
    paths: WriterPaths,
    lock: FileLock,
    algorithm: DigestAlgorithm,
  ): Promise<LocalContentWriter> {
    let fh: FileHandle | undefined;
    try {
      fh = await open(paths.data, "a+", 0o600);
      const st = await fh.stat();
      const cached = resumeCache.get(paths.data);
      resumeCache.delete(paths.data);
      const hash =
        cached && cached.size === st.size && cached.mtimeMs === st.mtimeMs && cached.algorithm === algorithm
          ? cached.hash
          : await hashFile(fh, algorithm, st.size);
      return new LocalContentWriter(ref, paths, lock, fh, hash, algorithm, st.size);
    } catch (err) {
      await fh?.close().catch(() => {});
      await lock.release();
      throw err;
    }
  }

  get offset(): number {
    return this.written;
  }

  private handle(): FileHandle {
    if (!this.fh) throw new ContentError("ABORTED", `writer ${JSON.stringify(this.ref)} is already closed`);
    return this.fh;
  }

  async write(chunk: Uint8Array): Promise<void> {
    const fh = this.handle();
    let done = 0;
    while (done < chunk.length) {
      // The file is opened in append mode, so the position is always its end.
      const { bytesWritten } = await fh.write(chunk, done, chunk.length - done);
      done += bytesWritten;
    }
    this.hash.update(chunk);
    this.written += chunk.length;
  }

  async writeStream(source: BlobSource): Promise<number> {
    for await (const chunk of chunksOf(source)) await this.write(chunk);
    return this.written;
  }

  async commit(expected: Expected): Promise<BlobInfo> {
    const fh = this.handle();
    this.fh = undefined;
    try {
      await fh.chmod(BLOB_MODE);
      await fh.sync();
      const algorithm = expected.digest ? digestAlgorithm(expected.digest) : this.algorithm;
      const hash = algorithm === this.algorithm ? this.hash : await hashFile(fh, algorithm, this.written);
      await fh.close();
      const info: BlobInfo = { digest: `${algorithm}:${hash.digest("hex")}`, size: this.written };
      const mismatch = checkExpected(expected, info);
      if (mismatch) throw mismatch;
      await this.paths.prepareBlobDir(info.digest);
      await publishFile(this.paths.data, this.paths.blobPath(info.digest));
      return info;
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(this.paths.data).catch(() => {});
      throw err;
    } finally {
      await this.lock.release();
    }
  }

  async abort(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => {});
    await unlink(this.paths.data).catch(() => {});
    resumeCache.delete(this.paths.data);
    await this.lock.release();
  }

  async close(): Promise<void> {
    const fh = this.fh;
    if (!fh) return;
    this.fh = undefined;
    try {
      await fh.sync();
      await fh.close();
      const st = await stat(this.paths.data);
      resumeCache.set(this.paths.data, {
        size: st.size,
        mtimeMs: st.mtimeMs,
        algorithm: this.algorithm,
        hash: this.hash.copy(),
      });
    } finally {
      await this.lock.release();
    }
  }
}
