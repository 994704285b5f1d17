/**
 * A streaming tar reader: turns a byte stream into entries, never holding more than one
 * small file body (or one chunk of a large one) in memory.
 */
import { LayerError } from "./error.js";
import {
  BLOCK,
  decodePax,
  decodeRawHeader,
  finishHeader,
  isZeroBlock,
  paddingFor,
  type TarHeader,
} from "./tar-header.js";

/** Bodies up to this size are delivered whole in {@link TarEntry.data}; larger ones stream. */
export const INLINE_BODY_LIMIT = 1 << 20;

/** Largest PAX or GNU long-name body accepted, so a hostile header cannot exhaust memory. */
const MAX_META_BODY = 1 << 20;

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
  private length = 0;
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

  /** Removes and returns `n` buffered bytes (caller ensured they are there). */
  take(n: number): Buffer {
    const first = this.bufs[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.bufs.shift();
      else this.bufs[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const b = this.bufs[0] as Buffer;
        const k = Math.min(b.length, n - off);
        b.copy(out, off, 0, k);
        off += k;
        if (k === b.length) this.bufs.shift();
        else this.bufs[0] = b.subarray(k);
      }
    }
    this.length -= n;
    this.position += n;
    return out;
  }

  /** Reads exactly `n` bytes or throws a truncation error naming `what`. */
  async exact(n: number, what: string): Promise<Buffer> {
    if (!(await this.fill(n))) throw new LayerError("INVALID_TAR", `tar stream truncated in ${what}`);
    return this.take(n);
  }

  /**
   * Skips up to `n` bytes of block padding. A stream that ends inside the padding of its last
   * entry is accepted, as Go's archive/tar accepts it (Debian's umoci 0.4.7 writes such layers);
   * the digest of the bytes still covers exactly what was received.
   */
  async padding(n: number): Promise<void> {
    await this.fill(n);
    const k = Math.min(n, this.length);
    if (k > 0) this.take(k);
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
    this.length = 0;
    while (!this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
    }
  }
}

/**
 * Reads tar entries from `source`. PAX (local and global) and GNU long-name/long-link headers
 * are folded into each entry's header. Stops at the end-of-archive marker, then consumes the
 * rest of the source so that a digest computed upstream covers the whole stream. Throws
 * `LayerError` `INVALID_TAR` on a bad checksum or truncation, `UNSUPPORTED_ENTRY` on sparse or
 * other exotic entry types.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const q = new ByteQueue(source);
  let globalPax: Map<string, Buffer> | undefined;
  let localPax: Map<string, Buffer> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    if (!(await q.fill(BLOCK))) {
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
      if (raw.size > MAX_META_BODY)
        throw new LayerError("INVALID_TAR", `tar extended header of ${raw.size} bytes is too large`);
      const body = await q.exact(raw.size + paddingFor(raw.size), "an extended header");
      const content = body.subarray(0, raw.size);
      if (flag === 0x78) localPax = new Map([...(localPax ?? []), ...decodePax(content)]);
      else if (flag === 0x67) globalPax = new Map([...(globalPax ?? []), ...decodePax(content)]);
      else {
        const nul = content.indexOf(0);
        const s = content.toString("utf8", 0, nul === -1 ? content.length : nul);
        if (flag === 0x4c) longName = s;
        else longLink = s;
      }
      continue;
    }
    const pax = globalPax || localPax ? new Map([...(globalPax ?? []), ...(localPax ?? [])]) : undefined;
    const header = finishHeader(raw, pax, longName, longLink);
    localPax = undefined;
    longName = undefined;
    longLink = undefined;
    const pad = paddingFor(header.size);
    if (header.size === 0) {
      yield { header };
    } else if (header.size <= INLINE_BODY_LIMIT) {
      const body = await q.exact(header.size, `the body of ${JSON.stringify(header.name)}`);
      await q.padding(pad);
      yield { header, data: body };
    } else {
      const what = `the body of ${JSON.stringify(header.name)}`;
      const end = q.position + header.size;
      yield { header, chunks: q.stream(header.size, what) };
      // Skip whatever the consumer left unread (it may have stopped early).
      while (q.position < end) {
        const k = Math.min(end - q.position, 1 << 20);
        await q.exact(k, what);
      }
      await q.padding(pad);
    }
  }
}
