/**
 * Sparse tar entries: the maps GNU tar writes for a file with holes, in every format it has
 * used (the old GNU `S` type, PAX 0.0, 0.1 and 1.0), decoded and validated. Pure functions; the
 * reader feeds them blocks, the applier writes each data segment at its offset and leaves the
 * rest a hole. What Go's archive/tar accepts (Docker, umoci, containerd) is accepted here too;
 * a sparse form pier does not know is refused rather than written as something else.
 */
import { LayerError } from "./error.js";
import { BLOCK, parseNumber } from "./tar-header.js";

/** One data segment of a sparse file: `length` bytes stored in the archive go at `offset`. */
export interface SparseSegment {
  offset: number;
  length: number;
}

/** A sparse file: its size with the holes, and where its stored bytes go, in order. */
export interface SparseMap {
  realSize: number;
  segments: readonly SparseSegment[];
}

/**
 * Most segments one entry may have. A stranger controls the map, so it is bounded: 131,072
 * segments hold a 1 GiB file of alternating 4 KiB data and holes (3 MB of numbers in memory).
 */
export const MAX_SPARSE_SEGMENTS = 1 << 17;

/** Largest PAX 1.0 map (text at the start of the body), as Go bounds its special files. */
export const MAX_SPARSE_MAP_BYTES = 1 << 20;

/** PAX record keys of GNU sparse files. */
const PAX_SPARSE = "GNU.sparse.";
/** The joined offset,length list of formats 0.0 (collected by `decodePax`) and 0.1. */
export const PAX_SPARSE_MAP = "GNU.sparse.map";

function tooMany(name: string): LayerError {
  return new LayerError(
    "INVALID_TAR",
    `tar entry ${JSON.stringify(name)}: sparse map has more than ${MAX_SPARSE_SEGMENTS} segments`,
  );
}

/**
 * Reads `count` (offset, numbytes) pairs of 12-byte numbers from `block` at `at`, stopping at
 * the first empty slot (as GNU tar and Go do), and appends them to `out`.
 */
function gnuEntries(block: Buffer, at: number, count: number, out: SparseSegment[], name: string): void {
  for (let i = 0; i < count; i++) {
    const o = at + i * 24;
    if (block[o] === 0) return;
    if (out.length >= MAX_SPARSE_SEGMENTS) throw tooMany(name);
    out.push({
      offset: parseNumber(block, o, 12, "sparse offset"),
      length: parseNumber(block, o + 12, 12, "sparse numbytes"),
    });
  }
}

/**
 * The old GNU sparse header (type `S`): four segments at byte 386, "more follow" at 482, the
 * real size at 483. Returns the segments so far and whether extension blocks follow.
 */
export function gnuHeaderSparse(
  block: Buffer,
  name: string,
): { segments: SparseSegment[]; extended: boolean; realSize: number } {
  const segments: SparseSegment[] = [];
  gnuEntries(block, 386, 4, segments, name);
  return { segments, extended: block[482] !== 0, realSize: parseNumber(block, 483, 12, "sparse realsize") };
}

/** One GNU sparse extension block: 21 more segments, "more follow" at byte 504. */
export function gnuExtensionSparse(block: Buffer, segments: SparseSegment[], name: string): boolean {
  gnuEntries(block, 0, 21, segments, name);
  return block[504] !== 0;
}

/** A decimal number of a sparse map (no sign, no fraction), or `INVALID_TAR` naming `what`. */
function decimal(s: string, what: string, name: string): number {
  const n = /^\d{1,16}$/.test(s) ? Number(s) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new LayerError(
      "INVALID_TAR",
      `tar entry ${JSON.stringify(name)}: invalid sparse ${what} ${JSON.stringify(s.slice(0, 40))}`,
    );
  return n;
}

/** What the PAX records of an entry say about sparseness (undefined: not sparse). */
export interface PaxSparse {
  /** `1.0` keeps the map at the start of the body; the others in the records. */
  version: "0.0" | "0.1" | "1.0";
  realSize: number;
  /** The real name (`GNU.sparse.name`), when the records carry it. */
  name?: string;
  /** The map, for 0.0 and 0.1. */
  segments?: SparseSegment[];
}

/**
 * Reads GNU sparse PAX records (as Go's `readGNUSparsePAXHeaders`). Any `GNU.sparse.*` record
 * of a version pier does not know is refused (`UNSUPPORTED_ENTRY`): such an entry would
 * otherwise land as its stand-in name holding the raw map.
 */
export function paxSparse(pax: Map<string, Buffer> | undefined, entryName: string): PaxSparse | undefined {
  let name = entryName;
  if (!pax) return undefined;
  let any = false;
  for (const k of pax.keys())
    if (k.startsWith(PAX_SPARSE)) {
      any = true;
      break;
    }
  if (!any) return undefined;
  const get = (k: string) => pax.get(PAX_SPARSE + k)?.toString("utf8");
  const realName = get("name");
  if (realName) name = realName;
  const major = get("major");
  const minor = get("minor");
  const map = get("map");
  let version: PaxSparse["version"];
  if (major === "1" && minor === "0") version = "1.0";
  else if (major === "0" && (minor === "0" || minor === "1")) version = minor === "0" ? "0.0" : "0.1";
  else if (major === undefined && minor === undefined && map !== undefined) version = "0.1";
  else
    throw new LayerError(
      "UNSUPPORTED_ENTRY",
      `tar entry ${JSON.stringify(name)}: GNU sparse format ${major ?? "?"}.${minor ?? "?"} is not supported (pier reads 0.0, 0.1 and 1.0)`,
    );
  const size = get("size") ?? get("realsize");
  if (size === undefined)
    throw new LayerError(
      "INVALID_TAR",
      `tar entry ${JSON.stringify(name)}: GNU sparse entry without GNU.sparse.size or GNU.sparse.realsize`,
    );
  const out: PaxSparse = { version, realSize: decimal(size, "size", name) };
  if (realName) out.name = realName;
  if (version !== "1.0") {
    if (map === undefined)
      throw new LayerError(
        "INVALID_TAR",
        `tar entry ${JSON.stringify(name)}: GNU sparse entry without a map`,
      );
    const parts = map === "" ? [] : map.split(",");
    if (parts.length % 2 !== 0)
      throw new LayerError(
        "INVALID_TAR",
        `tar entry ${JSON.stringify(name)}: GNU.sparse.map has an odd number of values`,
      );
    if (parts.length / 2 > MAX_SPARSE_SEGMENTS) throw tooMany(name);
    const segments: SparseSegment[] = [];
    for (let i = 0; i < parts.length; i += 2)
      segments.push({
        offset: decimal(parts[i]!, "offset", name),
        length: decimal(parts[i + 1]!, "numbytes", name),
      });
    out.segments = segments;
  }
  return out;
}

/**
 * Incremental reader of the PAX 1.0 map: newline-terminated decimals (the count, then offset
 * and length pairs) at the start of the body, padded to whole blocks. Feed it one block at a
 * time until {@link SparseMap1x0.done}.
 */
export class SparseMap1x0 {
  private readonly numbers: number[] = [];
  private count = -1;
  private partial = "";
  /** Body bytes the map took (whole blocks). */
  bytes = 0;
  /** The segments, once complete. */
  segments: SparseSegment[] | undefined;

  constructor(private readonly name: string) {}

  /** True once the whole map was read. */
  get done(): boolean {
    return this.segments !== undefined;
  }

  /** Consumes one 512-byte block of the body. */
  feed(block: Buffer): void {
    this.bytes += BLOCK;
    if (this.bytes > MAX_SPARSE_MAP_BYTES)
      throw new LayerError(
        "INVALID_TAR",
        `tar entry ${JSON.stringify(this.name)}: sparse map larger than ${MAX_SPARSE_MAP_BYTES} bytes`,
      );
    let start = 0;
    for (let i = 0; i < block.length && !this.done; i++) {
      if (block[i] !== 0x0a) continue;
      this.token(this.partial + block.toString("latin1", start, i));
      this.partial = "";
      start = i + 1;
    }
    if (!this.done) {
      this.partial += block.toString("latin1", start);
      if (this.partial.length > 32)
        throw new LayerError("INVALID_TAR", `tar entry ${JSON.stringify(this.name)}: malformed sparse map`);
    }
  }

  private token(s: string): void {
    const n = decimal(s, this.count < 0 ? "segment count" : "map value", this.name);
    if (this.count < 0) {
      if (n > MAX_SPARSE_SEGMENTS) throw tooMany(this.name);
      this.count = n;
    } else this.numbers.push(n);
    if (this.numbers.length === 2 * this.count) {
      const segments: SparseSegment[] = [];
      for (let i = 0; i < this.numbers.length; i += 2)
        segments.push({ offset: this.numbers[i]!, length: this.numbers[i + 1]! });
      this.segments = segments;
    }
  }
}

/**
 * Checks a map against the file it describes (as Go's `validateSparseEntries`, plus the stored
 * length): segments in order, not overlapping, within `realSize`, and their lengths adding up to
 * the `stored` bytes the archive holds. `INVALID_TAR` naming the entry otherwise.
 */
export function validateSparse(name: string, map: SparseMap, stored: number): void {
  const bad = (why: string) =>
    new LayerError("INVALID_TAR", `tar entry ${JSON.stringify(name)}: invalid sparse map: ${why}`);
  if (!Number.isSafeInteger(map.realSize) || map.realSize < 0) throw bad("invalid real size");
  let end = 0;
  let sum = 0;
  for (const s of map.segments) {
    if (s.offset < end) throw bad(`segment at ${s.offset} overlaps or is out of order`);
    if (s.offset + s.length > map.realSize)
      throw bad(`segment at ${s.offset} of ${s.length} bytes ends beyond the size ${map.realSize}`);
    end = s.offset + s.length;
    sum += s.length;
  }
  if (sum !== stored) throw bad(`segments hold ${sum} bytes but the archive stores ${stored} for the entry`);
}
