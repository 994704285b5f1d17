import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, stat, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { isErrno } from "../errors.js";
import { type Digest, type DigestAlgorithm, Digester, digestAlgorithm, parseDigest } from "../oci/digest.js";
import { ContentError } from "./error.js";
import { BLOB_MODE, publishFile } from "./fs-util.js";
import { INGEST_DIR, initLayout } from "./layout-init.js";

export { INGEST_DIR };

import { LocalContentWriter } from "./local-writer.js";
import { FileLock, processStartTime } from "./lock.js";
import { chunksOf } from "./source.js";
import type {
  BlobInfo,
  BlobSource,
  ContentStore,
  ContentWriter,
  Expected,
  PruneIngestOptions,
} from "./store.js";
import { checkExpected, oversizeError } from "./verify.js";

/** Options of {@link LocalContentStore}. */
export interface LocalContentStoreOptions {
  /** Largest blob `readBytes` returns when the caller gives no limit (default 16 MiB). */
  maxReadBytes?: number;
}

/** Options of {@link LocalContentStore.writer}. */
export interface WriterOptions {
  /** Algorithm hashed while writing (default sha256); a commit expecting another one re-reads the data once. */
  algorithm?: DigestAlgorithm;
}

const OWN_START = processStartTime(process.pid) ?? "0";

/** True when `pid` runs and, when `start` is known, is the process that started then. */
function isSameProcessAlive(pid: number, start: string | undefined): boolean {
  const now = processStartTime(pid);
  return now !== undefined && (start === undefined || start === now);
}

const ALGORITHMS: readonly DigestAlgorithm[] = ["sha256", "sha512"];
const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };

/**
 * A {@link ContentStore} on local disk whose root is an OCI image layout (`oci-layout`,
 * `index.json`, `blobs/<alg>/<hex>`), so skopeo, umoci and others read it as `oci:<root>`.
 *
 * Guarantees: a blob becomes visible only after its bytes are fsynced and its size and digest
 * verified; publication is one atomic hard link, so a crash at any moment leaves either no blob
 * or the whole blob. Unverified data lives in `<root>/ingest/`, on the same filesystem. Several
 * processes may ingest the same blob at once. Nothing here parses what it stores.
 */
export class LocalContentStore implements ContentStore {
  /** The image layout directory. */
  readonly root: string;
  /** Private directory of partial data. */
  readonly ingestDir: string;
  private readonly maxReadBytes: number;
  private ready: Promise<void> | undefined;

  constructor(root: string, options: LocalContentStoreOptions = {}) {
    this.root = root;
    this.ingestDir = join(root, INGEST_DIR);
    this.maxReadBytes = options.maxReadBytes ?? 16 << 20;
  }

  /** Opens a store, creating the layout (`oci-layout`, empty `index.json`, `blobs/`) when missing. */
  static async open(root: string, options?: LocalContentStoreOptions): Promise<LocalContentStore> {
    const store = new LocalContentStore(root, options);
    await store.ensureLayout();
    return store;
  }

  /** Creates the layout files and directories if missing; never overwrites existing ones. Idempotent. */
  ensureLayout(): Promise<void> {
    this.ready ??= this.createLayout().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private async createLayout(): Promise<void> {
    await initLayout(this.root);
    await mkdir(this.ingestDir, { recursive: true, mode: 0o700 });
  }

  blobPath(digest: Digest): string {
    const { algorithm, encoded } = parseDigest(digest);
    return join(this.root, "blobs", algorithm, encoded);
  }

  async info(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const st = await stat(this.blobPath(digest));
      return { digest, size: st.size };
    } catch (err) {
      if (isErrno(err, "ENOENT")) return undefined;
      throw err;
    }
  }

  async read(digest: Digest, range?: { start: number; end?: number }): Promise<Readable> {
    const fh = await this.openBlob(digest);
    try {
      const { size } = await fh.stat();
      const start = range?.start ?? 0;
      const end = range?.end ?? size - 1;
      if (
        !Number.isSafeInteger(start) ||
        !Number.isSafeInteger(end) ||
        start < 0 ||
        start > size ||
        end < start - 1 ||
        end >= size
      ) {
        throw new ContentError(
          "INVALID_RANGE",
          `blob ${digest}: range ${start}-${range?.end ?? ""} is outside its ${size} bytes`,
          {
            detail: { digest, size, start, end: range?.end },
          },
        );
      }
      if (end < start) {
        await fh.close();
        return Readable.from([]);
      }
      return fh.createReadStream({ start, end, autoClose: true });
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  async readBytes(digest: Digest, maxBytes = this.maxReadBytes): Promise<Buffer> {
    const fh = await this.openBlob(digest);
    try {
      const { size } = await fh.stat();
      if (size > maxBytes) {
        throw new ContentError(
          "TOO_LARGE",
          `blob ${digest} is ${size} bytes, more than the ${maxBytes} allowed here`,
          {
            detail: { digest, size, maxBytes },
          },
        );
      }
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  private async openBlob(digest: Digest) {
    try {
      return await open(this.blobPath(digest), "r");
    } catch (err) {
      if (isErrno(err, "ENOENT")) {
        throw new ContentError("NOT_FOUND", `blob ${digest} not found in ${this.root}`, {
          detail: { digest },
        });
      }
      throw err;
    }
  }

  async ingest(source: BlobSource, expected: Expected = {}): Promise<BlobInfo> {
    const algorithm = expected.digest ? digestAlgorithm(expected.digest) : "sha256";
    await this.ensureLayout();
    if (expected.digest && (await this.touch(expected.digest))) {
      // Already stored: still consume and verify the source, but write nothing.
      const info = await digestSource(source, algorithm, expected);
      const mismatch = checkExpected(expected, info);
      if (mismatch) throw mismatch;
      return info;
    }
    // The pid and its start time name the owner, so a recycled pid does not keep the file.
    const tmp = join(this.ingestDir, `tmp-${process.pid}.${OWN_START}-${randomBytes(8).toString("hex")}`);
    const fh = await open(tmp, "wx", 0o600);
    try {
      const digester = new Digester(algorithm);
      for await (const chunk of chunksOf(source)) {
        digester.update(chunk);
        if (expected.size !== undefined && digester.size > expected.size)
          throw oversizeError(expected, digester.size);
        let done = 0;
        while (done < chunk.length) done += (await fh.write(chunk, done, chunk.length - done)).bytesWritten;
      }
      await fh.chmod(BLOB_MODE);
      await fh.sync();
      await fh.close();
      const info: BlobInfo = { digest: digester.digest(), size: digester.size };
      const mismatch = checkExpected(expected, info);
      if (mismatch) throw mismatch;
      await this.prepareBlobDir(info.digest);
      await publishFile(tmp, this.blobPath(info.digest));
      return info;
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  /** Refreshes an existing blob's times (so a running GC keeps it); false when it is absent. */
  private async touch(digest: Digest): Promise<boolean> {
    const now = new Date();
    try {
      await utimes(this.blobPath(digest), now, now);
      return true;
    } catch (err) {
      if (isErrno(err, "ENOENT")) return false;
      throw err;
    }
  }

  private async prepareBlobDir(digest: Digest): Promise<void> {
    await mkdir(join(this.root, "blobs", digestAlgorithm(digest)), { recursive: true });
  }

  /**
   * Opens the resumable writer of `ref`. Throws `ContentError` `INGEST_IN_PROGRESS` when another
   * writer (in this or another process) holds the ref; a writer whose process died is taken over.
   */
  async writer(ref: string, options: WriterOptions = {}): Promise<ContentWriter> {
    await this.ensureLayout();
    const key = createHash("sha256").update(ref).digest("hex");
    const base = join(this.ingestDir, `ref-${key}`);
    const lock = await FileLock.tryAcquire(`${base}.lock`);
    if (!lock) {
      throw new ContentError(
        "INGEST_IN_PROGRESS",
        `ingest ${JSON.stringify(ref)} is already being written by another writer`,
        {
          detail: { ref },
        },
      );
    }
    return LocalContentWriter.open(
      ref,
      {
        data: `${base}.data`,
        blobPath: (d) => this.blobPath(d),
        prepareBlobDir: (d) => this.prepareBlobDir(d),
      },
      lock,
      options.algorithm ?? "sha256",
    );
  }

  /**
   * Removes leftovers of interrupted ingests: one-shot temp files whose process is gone (dead,
   * a zombie, or its pid now another process's; any age), and resumable writer data whose writer
   * is not open and that is either untouched for `maxAgeMs` (default one day) or — when the
   * caller names its live refs — not one of `liveRefs` and untouched for `unknownRefGraceMs`
   * (default 10 minutes: a ref made after the caller listed them is not yet in the list). Data
   * of a live ref is never removed. Lock files left by dead writers go too. Never touches
   * published blobs. Resolves the names removed.
   */
  async pruneIngest(options: PruneIngestOptions = {}): Promise<string[]> {
    const maxAge = options.maxAgeMs ?? 86_400_000;
    const unknownGrace = options.unknownRefGraceMs ?? 600_000;
    const live =
      options.liveRefs === undefined
        ? undefined
        : new Set([...options.liveRefs].map((r) => `ref-${createHash("sha256").update(r).digest("hex")}`));
    const removed: string[] = [];
    let names: string[];
    try {
      names = await readdir(this.ingestDir);
    } catch (err) {
      if (isErrno(err, "ENOENT")) return removed;
      throw err;
    }
    const present = new Set(names);
    for (const name of names) {
      const path = join(this.ingestDir, name);
      const st = await stat(path).catch(() => undefined);
      if (!st) continue;
      const age = Date.now() - st.mtimeMs;
      const oneShot = /^(?:tmp|index)-(\d+)(?:\.(\d+))?-/.exec(name);
      if (oneShot) {
        if (age > maxAge || !isSameProcessAlive(Number(oneShot[1]), oneShot[2])) {
          await unlink(path).catch(() => {});
          removed.push(name);
        }
        continue;
      }
      const ref = /^(ref-[a-f0-9]{64})\.(data|lock)$/.exec(name);
      if (!ref) continue;
      const base = ref[1]!;
      if (ref[2] === "lock") {
        // A lock without data: its writer died before writing, or after its data was removed.
        if (present.has(`${base}.data`)) continue;
        const orphan = await FileLock.tryAcquire(join(this.ingestDir, name));
        if (orphan) {
          await orphan.release();
          removed.push(name);
        }
        continue;
      }
      const stale = live === undefined ? age > maxAge : !live.has(base) && age > unknownGrace;
      if (!stale) continue;
      const lock = await FileLock.tryAcquire(join(this.ingestDir, `${base}.lock`));
      if (!lock) continue;
      try {
        await unlink(path).catch(() => {});
        removed.push(name);
      } finally {
        await lock.release();
      }
    }
    return removed;
  }

  async delete(digest: Digest): Promise<boolean> {
    try {
      await unlink(this.blobPath(digest));
      return true;
    } catch (err) {
      if (isErrno(err, "ENOENT")) return false;
      throw err;
    }
  }

  async *list(): AsyncIterable<BlobInfo> {
    for (const algorithm of ALGORITHMS) {
      let names: string[];
      try {
        names = await readdir(join(this.root, "blobs", algorithm));
      } catch (err) {
        if (isErrno(err, "ENOENT")) continue;
        throw err;
      }
      names.sort();
      for (const name of names) {
        // Other tools leave temp files here; only well-formed digests are blobs.
        if (name.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(name)) continue;
        try {
          const st = await stat(join(this.root, "blobs", algorithm, name));
          if (st.isFile()) yield { digest: `${algorithm}:${name}`, size: st.size };
        } catch (err) {
          if (!isErrno(err, "ENOENT")) throw err;
        }
      }
    }
  }
}

/** Hashes a source without storing it, stopping early once it exceeds the expected size. */
async function digestSource(
  source: BlobSource,
  algorithm: DigestAlgorithm,
  expected: Expected,
): Promise<BlobInfo> {
  const digester = new Digester(algorithm);
  for await (const chunk of chunksOf(source)) {
    digester.update(chunk);
    if (expected.size !== undefined && digester.size > expected.size)
      throw oversizeError(expected, digester.size);
  }
  return { digest: digester.digest(), size: digester.size };
}
