/**
 * A streaming tar reader: turns a byte stream into entries, never holding more than one
 * small file body (or one chunk of a large one) in memory.
 */
import { LayerError } from "./error.js";
import {
  gnuExtensionSparse,
  gnuHeaderSparse,
  paxSparse,
  type SparseMap,
  SparseMap1x0,
  validateSparse,
} from "./sparse.js";
import {
  BLOCK,
  decodePax,
  decodeRawHeader,
  finishHeader,
  isZeroBlock,
  paddingFor,
  type RawHeader,
  type TarHeader,
} from "./tar-header.js";

/** Bodies up to this size are delivered whole in {@link TarEntry.data}; larger ones stream. */
export const INLINE_BODY_LIMIT = 1 << 20;

/**
 * Most bytes of extended headers (PAX local and global, GNU long name and link, GNU sparse
 * extension blocks; header blocks included) before one entry. Go's archive/tar bounds each such
 * header at 1 MiB (`maxSpecialFileSize`) and keeps only the last of consecutive ones; pier merges
 * consecutive ones as POSIX says, so it bounds their total: a stranger's layer cannot make one
 * entry cost more than this in memory or parsing time.
 */
export const MAX_ENTRY_META = 1 << 20;

/**
 * The records of a global PAX header that apply to every entry after it. Attributes and sparse
 * maps are per file: a global one is refused rather than copied to every entry (Go, and so
 * Docker and containerd, ignore global headers altogether). Other keys mean nothing to a layer.
 */
const GLOBAL_KEYS = new Set(["path", "linkpath", "size", "uid", "gid", "mtime"]);

/** One tar entry. Exactly one of `data` / `chunks` is set for a regular file with a body. */
export interface TarEntry {
  header: TarHeader;
  /** The whole body, for files up to {@link INLINE_BODY_LIMIT} bytes. */
  data?: Buffer;
  /**
   * The body in chunks, for larger files. Must be consumed before asking for the next entry;
   * what is left unread is skipped.
   */
  chunks?: AsyncIterable<Buffer>;
}

/** Buffers an async byte source and hands out exact byte counts. */
class ByteQueue {
  private readonly it: AsyncIterator<Uint8Array>;
  private bufs: Buffer[] = [];
  /** Bytes of `bufs[0]` already handed out. */
  private head = 0;
  /** Bytes buffered and not yet handed out. */
  length = 0;
  private ended = false;
  /** Bytes handed out so far. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Ensures at least `n` bytes are buffered; false when the source ended first. */
  async fill(n: number): Promise<boolean> {
    while (this.length < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        break;
      }
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      if (b.length === 0) continue;
      this.bufs.push(b);
      this.length += b.length;
    }
    return this.length >= n;
  }

  /** Drops `n` buffered bytes (caller ensured they are there). */
  skip(n: number): void {
    if (n > 0) this.take(n);
  }

  /** Removes and returns `n` buffered bytes (caller ensured they are there). */
  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.bufs[0] as Buffer;
    let out: Buffer;
    if (first.length - this.head >= n) {
      // The common case, a view of one chunk: no copy, and no second view for the rest.
      out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.bufs.shift();
        this.head = 0;
      }
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const b = this.bufs[0] as Buffer;
        const k = Math.min(b.length - this.head, n - off);
        b.copy(out, off, this.head, this.head + k);
        off += k;
        this.head += k;
        if (this.head === b.length) {
          this.bufs.shift();
          this.head = 0;
        }
      }
    }
    this.length -= n;
    this.position += n;
    return out;
  }

  /** Reads exactly `n` bytes or throws a truncation error naming `what`. */
  async exact(n: number, what: string): Promise<Buffer> {
    if (this.length < n && !(await this.fill(n)))
      throw new LayerError("INVALID_TAR", `tar stream truncated in ${what}`);
    return this.take(n);
  }

  /**
   * Skips up to `n` bytes of block padding. A stream that ends inside the padding of its last
   * entry is accepted, as Go's archive/tar accepts it (Debian's umoci 0.4.7 writes such layers);
   * the digest of the bytes still covers exactly what was received.
   */
  async padding(n: number): Promise<void> {
    if (this.length < n) await this.fill(n);
    this.skip(Math.min(n, this.length));
  }

  /** Yields exactly `n` bytes in chunks as they arrive. */
  async *stream(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.length === 0 && !(await this.fill(1)))
        throw new LayerError("INVALID_TAR", `tar stream truncated in ${what}`);
      const k = Math.min(left, this.length, 1 << 20);
      left -= k;
      yield this.take(k);
    }
  }

  /** Consumes the rest of the source (so upstream digests see every byte). */
  async drain(): Promise<void> {
    this.bufs = [];
    this.head = 0;
    this.length = 0;
    while (!this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
    }
  }
}

/** Folds one global PAX header's records into the (small) set that applies to every entry. */
function foldGlobal(
  global: Map<string, Buffer> | undefined,
  records: Map<string, Buffer>,
): Map<string, Buffer> {
  const out = new Map(global);
  for (const [key, value] of records) {
    if (GLOBAL_KEYS.has(key)) out.set(key, value);
    else if (key.startsWith("SCHILY.xattr.") || key.startsWith("GNU.sparse."))
      throw new LayerError(
        "UNSUPPORTED_ENTRY",
        `tar global PAX header sets ${JSON.stringify(key)} for every entry: not supported (set it in each entry's own header)`,
      );
  }
  return out;
}

/**
 * The sparse map of an entry, if it is sparse (old GNU `S` type or GNU PAX records), reading
 * the extension blocks (`S`) or the in-body map (PAX 1.0) from `q`. Returns the header with the
 * real name and size, and the bytes of file data the body still holds.
 */
async function sparseEntry(
  q: ByteQueue,
  block: Buffer,
  raw: RawHeader,
  pax: Map<string, Buffer> | undefined,
  header: TarHeader,
  meta: number,
): Promise<{ header: TarHeader; stored: number }> {
  let name = header.name;
  let stored = header.size;
  let map: SparseMap;
  if (raw.typeflag === 0x53) {
    const gnu = gnuHeaderSparse(block, name);
    let more = gnu.extended;
    let bytes = meta;
    while (more) {
      bytes += BLOCK;
      if (bytes > MAX_ENTRY_META) throw metaTooLarge(name);
      more = gnuExtensionSparse(await q.exact(BLOCK, "a GNU sparse extension block"), gnu.segments, name);
    }
    map = { realSize: gnu.realSize, segments: gnu.segments };
  } else {
    const ps = paxSparse(pax, name);
    if (!ps) return { header, stored };
    if (header.type !== "file")
      throw new LayerError(
        "INVALID_TAR",
        `tar entry ${JSON.stringify(name)}: sparse records on a ${header.type}`,
      );
    if (ps.name) name = ps.name.length > 1 ? ps.name.replace(/\/+$/, "") : ps.name;
    let segments = ps.segments;
    if (!segments) {
      const reader = new SparseMap1x0(name);
      while (!reader.done) {
        if (reader.bytes + BLOCK > stored)
          throw new LayerError(
            "INVALID_TAR",
            `tar entry ${JSON.stringify(name)}: sparse map runs past the entry`,
          );
        reader.feed(await q.exact(BLOCK, `the sparse map of ${JSON.stringify(name)}`));
      }
      stored -= reader.bytes;
      segments = reader.segments;
    }
    map = { realSize: ps.realSize, segments: segments ?? [] };
  }
  validateSparse(name, map, stored);
  return { header: { ...header, name, size: map.realSize, sparse: map }, stored };
}

function metaTooLarge(name: string): LayerError {
  return new LayerError(
    "INVALID_TAR",
    `tar entry ${JSON.stringify(name)}: more than ${MAX_ENTRY_META} bytes of extended headers (PAX, GNU long names, sparse maps) before it`,
  );
}

/**
 * Reads tar entries from `source`. PAX (local and global) and GNU long-name/long-link headers
 * are folded into each entry's header, and sparse maps decoded (see {@link TarHeader.sparse}).
 * Stops at the end-of-archive marker, then consumes the rest of the source so that a digest
 * computed upstream covers the whole stream. Throws `LayerError` `INVALID_TAR` on a bad
 * checksum, truncation, more than {@link MAX_ENTRY_META} bytes of extended headers for one
 * entry or a bad sparse map, `UNSUPPORTED_ENTRY` on exotic entry types.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const q = new ByteQueue(source);
  let globalPax: Map<string, Buffer> | undefined;
  let localPax: Map<string, Buffer> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  /** Bytes of extended headers since the last entry. */
  let meta = 0;
  for (;;) {
    // Awaited only when the bytes are not buffered yet: most entries need no wait at all.
    if (q.length < BLOCK && !(await q.fill(BLOCK))) {
      // A stream that ends on a block boundary without the end marker is accepted, as Go does.
      if (localPax || longName || longLink)
        throw new LayerError("INVALID_TAR", "tar stream truncated after an extended header");
      await q.drain();
      return;
    }
    const block = q.take(BLOCK);
    if (isZeroBlock(block)) {
      await q.drain();
      return;
    }
    const raw = decodeRawHeader(block);
    const flag = raw.typeflag;
    if (flag === 0x78 || flag === 0x67 || flag === 0x4c || flag === 0x4b) {
      meta += BLOCK + raw.size + paddingFor(raw.size);
      if (meta > MAX_ENTRY_META) throw metaTooLarge(longName ?? raw.name);
      const bodySize = raw.size + paddingFor(raw.size);
      const body = q.length >= bodySize ? q.take(bodySize) : await q.exact(bodySize, "an extended header");
      const content = body.subarray(0, raw.size);
      if (flag === 0x78) {
        // Merged in place: each record is copied once, however many headers precede the entry.
        localPax ??= new Map();
        for (const [key, value] of decodePax(content)) localPax.set(key, value);
      } else if (flag === 0x67) globalPax = foldGlobal(globalPax, decodePax(content));
      else {
        const nul = content.indexOf(0);
        const s = content.toString("utf8", 0, nul === -1 ? content.length : nul);
        if (flag === 0x4c) longName = s;
        else longLink = s;
      }
      continue;
    }
    const pax = globalPax && localPax ? new Map([...globalPax, ...localPax]) : (localPax ?? globalPax);
    const finished = finishHeader(raw, pax, longName, longLink);
    const { header, stored } =
      // Only an old GNU sparse header or PAX records can make an entry sparse.
      flag === 0x53 || pax !== undefined
        ? await sparseEntry(q, block, raw, pax, finished, meta)
        : { header: finished, stored: finished.size };
    localPax = undefined;
    longName = undefined;
    longLink = undefined;
    meta = 0;
    const pad = paddingFor(stored);
    if (stored === 0) {
      yield { header };
    } else if (stored <= INLINE_BODY_LIMIT) {
      const body =
        q.length >= stored
          ? q.take(stored)
          : await q.exact(stored, `the body of ${JSON.stringify(header.name)}`);
      if (q.length >= pad) q.skip(pad);
      else await q.padding(pad);
      yield { header, data: body };
    } else {
      const what = `the body of ${JSON.stringify(header.name)}`;
      const end = q.position + stored;
      yield { header, chunks: q.stream(stored, what) };
      // Skip whatever the consumer left unread (it may have stopped early).
      while (q.position < end) {
        const k = Math.min(end - q.position, 1 << 20);
        await q.exact(k, what);
      }
      await q.padding(pad);
    }
  }
}
