/**
 * SPDY/3 header compression: every header block of a session is a piece of one zlib stream per
 * direction, primed with SPDY/3's dictionary. Blocks from the peer are inflated in order by one
 * long-lived inflater, each bounded after decompression ({@link MAX_HEADER_BLOCK}). Blocks pier
 * sends are written as stored (uncompressed) deflate blocks ending with a sync flush's empty
 * block: a valid continuation of a zlib stream that any SPDY peer inflates, made synchronously (no frame waits for the thread pool)
 * and leaking nothing through compression ratios; pier's header blocks are a few bytes.
 */
import { constants, createInflate, deflateSync, type Inflate } from "node:zlib";
import { SpdyProtocolError } from "./spdy-frames.js";

/** SPDY/3's zlib dictionary (draft-mbelshe-httpbis-spdy-00 §2.6.10.1), 1423 bytes. */
export const SPDY_DICTIONARY = Buffer.from(
  [
    "AAAAB29wdGlvbnMAAAAEaGVhZAAAAARwb3N0AAAAA3B1dAAAAAZkZWxldGUAAAAFdHJhY2UAAAAGYWNjZXB0AAAADmFjY2Vw",
    "dC1jaGFyc2V0AAAAD2FjY2VwdC1lbmNvZGluZwAAAA9hY2NlcHQtbGFuZ3VhZ2UAAAANYWNjZXB0LXJhbmdlcwAAAANhZ2UA",
    "AAAFYWxsb3cAAAANYXV0aG9yaXphdGlvbgAAAA1jYWNoZS1jb250cm9sAAAACmNvbm5lY3Rpb24AAAAMY29udGVudC1iYXNl",
    "AAAAEGNvbnRlbnQtZW5jb2RpbmcAAAAQY29udGVudC1sYW5ndWFnZQAAAA5jb250ZW50LWxlbmd0aAAAABBjb250ZW50LWxv",
    "Y2F0aW9uAAAAC2NvbnRlbnQtbWQ1AAAADWNvbnRlbnQtcmFuZ2UAAAAMY29udGVudC10eXBlAAAABGRhdGUAAAAEZXRhZwAA",
    "AAZleHBlY3QAAAAHZXhwaXJlcwAAAARmcm9tAAAABGhvc3QAAAAIaWYtbWF0Y2gAAAARaWYtbW9kaWZpZWQtc2luY2UAAAAN",
    "aWYtbm9uZS1tYXRjaAAAAAhpZi1yYW5nZQAAABNpZi11bm1vZGlmaWVkLXNpbmNlAAAADWxhc3QtbW9kaWZpZWQAAAAIbG9j",
    "YXRpb24AAAAMbWF4LWZvcndhcmRzAAAABnByYWdtYQAAABJwcm94eS1hdXRoZW50aWNhdGUAAAATcHJveHktYXV0aG9yaXph",
    "dGlvbgAAAAVyYW5nZQAAAAdyZWZlcmVyAAAAC3JldHJ5LWFmdGVyAAAABnNlcnZlcgAAAAJ0ZQAAAAd0cmFpbGVyAAAAEXRy",
    "YW5zZmVyLWVuY29kaW5nAAAAB3VwZ3JhZGUAAAAKdXNlci1hZ2VudAAAAAR2YXJ5AAAAA3ZpYQAAAAd3YXJuaW5nAAAAEHd3",
    "dy1hdXRoZW50aWNhdGUAAAAGbWV0aG9kAAAAA2dldAAAAAZzdGF0dXMAAAAGMjAwIE9LAAAAB3ZlcnNpb24AAAAISFRUUC8x",
    "LjEAAAADdXJsAAAABnB1YmxpYwAAAApzZXQtY29va2llAAAACmtlZXAtYWxpdmUAAAAGb3JpZ2luMTAwMTAxMjAxMjAyMjA1",
    "MjA2MzAwMzAyMzAzMzA0MzA1MzA2MzA3NDAyNDA1NDA2NDA3NDA4NDA5NDEwNDExNDEyNDEzNDE0NDE1NDE2NDE3NTAyNTA0",
    "NTA1MjAzIE5vbi1BdXRob3JpdGF0aXZlIEluZm9ybWF0aW9uMjA0IE5vIENvbnRlbnQzMDEgTW92ZWQgUGVybWFuZW50bHk0",
    "MDAgQmFkIFJlcXVlc3Q0MDEgVW5hdXRob3JpemVkNDAzIEZvcmJpZGRlbjQwNCBOb3QgRm91bmQ1MDAgSW50ZXJuYWwgU2Vy",
    "dmVyIEVycm9yNTAxIE5vdCBJbXBsZW1lbnRlZDUwMyBTZXJ2aWNlIFVuYXZhaWxhYmxlSmFuIEZlYiBNYXIgQXByIE1heSBK",
    "dW4gSnVsIEF1ZyBTZXB0IE9jdCBOb3YgRGVjIDAwOjAwOjAwIE1vbiwgVHVlLCBXZWQsIFRodSwgRnJpLCBTYXQsIFN1biwg",
    "R01UY2h1bmtlZCx0ZXh0L2h0bWwsaW1hZ2UvcG5nLGltYWdlL2pwZyxpbWFnZS9naWYsYXBwbGljYXRpb24veG1sLGFwcGxp",
    "Y2F0aW9uL3hodG1sK3htbCx0ZXh0L3BsYWluLHRleHQvamF2YXNjcmlwdCxwdWJsaWNwcml2YXRlbWF4LWFnZT1nemlwLGRl",
    "ZmxhdGUsc2RjaGNoYXJzZXQ9dXRmLThjaGFyc2V0PWlzby04ODU5LTEsdXRmLSwqLGVucT0wLg==",
  ].join(""),
  "base64",
);

/** The largest header block pier inflates from the peer. */
export const MAX_HEADER_BLOCK = 64 * 1024;

/** An empty stored deflate block: what a zlib sync flush writes. */
const SYNC_MARKER = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

/** The largest stored deflate block. */
const STORED_MAX = 0xffff;

/** Compresses the header blocks pier sends on one session (see the module comment). */
export class HeaderCompressor {
  private started = false;

  /** `block` as the next piece of this session's zlib stream. */
  compress(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      // The zlib header naming the dictionary (CMF, FLG with FDICT, the dictionary's Adler-32).
      parts.push(deflateSync(Buffer.alloc(0), { dictionary: SPDY_DICTIONARY }).subarray(0, 6));
      this.started = true;
    }
    for (let at = 0; at < block.length; at += STORED_MAX) {
      const piece = block.subarray(at, at + STORED_MAX);
      const h = Buffer.alloc(5);
      // BFINAL 0, BTYPE 00 (stored), padded to the byte; then LEN and its complement.
      h.writeUInt16LE(piece.length, 1);
      h.writeUInt16LE(~piece.length & 0xffff, 3);
      parts.push(h, piece);
    }
    // An empty stored block, as a sync flush ends a block: an inflater (Go's among them) hands
    // out what it holds when it reaches one, without reading past the frame.
    parts.push(SYNC_MARKER);
    return Buffer.concat(parts);
  }
}

/** Inflates the header blocks the peer sends on one session, in order. */
export class HeaderDecompressor {
  private readonly inflate: Inflate = createInflate({ dictionary: SPDY_DICTIONARY });
  private out: Buffer[] = [];
  private size = 0;
  private failure: Error | undefined;

  /** Settles the block being inflated (at its flush, or at once on a failure). */
  private settle: (() => void) | undefined;

  constructor() {
    this.inflate.on("data", (d: Buffer) => {
      this.size += d.length;
      if (this.size > MAX_HEADER_BLOCK)
        this.fail(new SpdyProtocolError(`a header block inflates past ${MAX_HEADER_BLOCK} bytes`));
      else this.out.push(d);
    });
    this.inflate.on("error", (e: Error) =>
      this.fail(new SpdyProtocolError(`invalid compressed header block: ${e.message}`)),
    );
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.inflate.destroy();
    this.settle?.();
  }

  /** The next header block, inflated; a corrupt stream or an oversized block is a protocol error. */
  decompress(block: Buffer): Promise<Buffer> {
    this.out = [];
    this.size = 0;
    return new Promise((resolve, reject) => {
      this.settle = () => {
        this.settle = undefined;
        if (this.failure) reject(this.failure);
        else resolve(Buffer.concat(this.out));
      };
      if (this.failure || this.inflate.destroyed) return this.settle();
      this.inflate.write(block);
      // The peer ends each block with a sync flush: everything it holds comes out now.
      this.inflate.flush(constants.Z_SYNC_FLUSH, () => this.settle?.());
    });
  }

  /** Frees the inflater. */
  close(): void {
    this.inflate.destroy();
  }
}
