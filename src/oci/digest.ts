import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { OciError } from "./error.js";

/** A content digest string, `algorithm:encoded` (image-spec `descriptor.md#digests`). */
export type Digest = `${string}:${string}`;

/** Digest algorithms pier can compute and verify. */
export type DigestAlgorithm = "sha256" | "sha512";

const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };

// The grammar from descriptor.md: algorithm-component ([+._-] algorithm-component)* ":" encoded
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** A digest split into its parts. */
export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  encoded: string;
}

/**
 * Parses and validates a digest. Throws `OciError` `INVALID_DIGEST` when the string does not
 * follow the grammar or the encoded part has the wrong length or alphabet, and
 * `UNSUPPORTED_DIGEST_ALGORITHM` for a well-formed digest of an algorithm pier does not know.
 */
export function parseDigest(value: unknown, what = "digest"): ParsedDigest {
  if (typeof value !== "string" || !DIGEST_GRAMMAR.test(value)) {
    throw new OciError("INVALID_DIGEST", `${what}: not a valid digest: ${JSON.stringify(value)}`);
  }
  const colon = value.indexOf(":");
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    throw new OciError(
      "UNSUPPORTED_DIGEST_ALGORITHM",
      `${what}: unsupported digest algorithm "${algorithm}"`,
    );
  }
  if (encoded.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(encoded)) {
    throw new OciError(
      "INVALID_DIGEST",
      `${what}: ${algorithm} digest must be ${HEX_LENGTH[algorithm]} lower-case hex characters: ${JSON.stringify(value)}`,
    );
  }
  return { algorithm, encoded };
}

/** True when `value` is a valid, supported digest. */
export function isDigest(value: unknown): value is Digest {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

/** Asserts `value` is a valid supported digest and returns it typed. */
export function toDigest(value: unknown, what = "digest"): Digest {
  parseDigest(value, what);
  return value as Digest;
}

/** Digest of bytes held in memory. */
export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = "sha256"): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest("hex")}`;
}

/** An incremental digest: feed chunks, then read the digest and the byte count. */
export class Digester {
  readonly algorithm: DigestAlgorithm;
  private readonly hash: Hash;
  private bytes = 0;
  private result: Digest | undefined;

  constructor(algorithm: DigestAlgorithm = "sha256") {
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
  }

  /** Adds a chunk. */
  update(chunk: Uint8Array): void {
    if (this.result) throw new Error("Digester: update after digest()");
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  /** Number of bytes fed so far. */
  get size(): number {
    return this.bytes;
  }

  /** The digest of everything fed; after this call the digester is finished. */
  digest(): Digest {
    this.result ??= `${this.algorithm}:${this.hash.digest("hex")}`;
    return this.result;
  }
}

/**
 * A pass-through stream that digests and counts what flows through it. Read `digest()` and
 * `size` after the stream has ended.
 */
export class DigestStream extends Transform {
  private readonly digester: Digester;

  constructor(algorithm: DigestAlgorithm = "sha256") {
    super();
    this.digester = new Digester(algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.digester.update(chunk);
    done(null, chunk);
  }

  /** Bytes that went through. */
  get size(): number {
    return this.digester.size;
  }

  /** Digest of everything that went through; call after `end`. */
  digest(): Digest {
    return this.digester.digest();
  }
}

/** The algorithm part of a digest (validated). */
export function digestAlgorithm(digest: string): DigestAlgorithm {
  return parseDigest(digest).algorithm;
}

/** The encoded (hex) part of a digest (validated). */
export function digestHex(digest: string): string {
  return parseDigest(digest).encoded;
}
