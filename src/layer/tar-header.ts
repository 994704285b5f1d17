/**
 * Tar header encoding and decoding (POSIX ustar + PAX extended headers, and the GNU long-name
 * extensions on input). Pure functions over 512-byte blocks: no I/O.
 *
 * Why not tar-stream's codec: PAX values must stay raw bytes (`SCHILY.xattr.security.capability`
 * is binary), uid/gid/mtime from PAX records must be honoured, and the writer must be
 * byte-for-byte reproducible.
 */
import { LayerError } from "./error.js";
import type { SparseMap } from "./sparse.js";

/** Size of a tar block. */
export const BLOCK = 512;

/** The entry types a layer can hold. */
export type TarEntryType = "file" | "link" | "symlink" | "char" | "block" | "dir" | "fifo";

/** One tar entry's metadata, with every PAX/GNU extension already folded in. */
export interface TarHeader {
  /** Path inside the archive, without a trailing slash for directories. */
  name: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (`0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Body size in bytes (0 for everything but regular files). */
  size: number;
  /** Modification time, seconds since the epoch (may carry a fraction from PAX). */
  mtime: number;
  /** Symlink target, or hard link target path inside the archive. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes (`SCHILY.xattr.*`), values as raw bytes. */
  xattrs: Map<string, Buffer>;
  /**
   * For a sparse file: where its stored bytes go. `size` is then the real size (holes
   * included), and the body holds only the segments' bytes, in order.
   */
  sparse?: SparseMap;
}

const TYPE_FLAG: Readonly<Record<TarEntryType, number>> = {
  file: 0x30,
  link: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  dir: 0x35,
  fifo: 0x36,
};

const USTAR_MAGIC = Buffer.from("ustar\u000000", "latin1");
const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;
const XATTR_PREFIX = "SCHILY.xattr.";

function writeOctal(buf: Buffer, value: number, offset: number, width: number): void {
  // width includes the terminating NUL, as GNU tar and Go write it
  const s = value.toString(8).padStart(width - 1, "0");
  buf.write(s, offset, width - 1, "latin1");
  buf[offset + width - 1] = 0;
}

function writeBase256(buf: Buffer, value: number, offset: number, width: number): void {
  let v = value;
  for (let i = offset + width - 1; i > offset; i--) {
    buf[i] = v % 256;
    v = Math.floor(v / 256);
  }
  buf[offset] = 0x80;
}

/** One PAX record, `"<len> <key>=<value>\n"`, its length field counting itself. */
export function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, "utf8"), value, Buffer.from("\n")]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), "latin1"), body]);
}

/** Bytes needed to pad `size` up to a whole block. */
export function paddingFor(size: number): number {
  const rem = size % BLOCK;
  return rem === 0 ? 0 : BLOCK - rem;
}

function splitUstarName(nameBytes: Buffer): { name: Buffer; prefix: Buffer } | undefined {
  if (nameBytes.length <= 100) return { name: nameBytes, prefix: Buffer.alloc(0) };
  if (nameBytes.length > 256) return undefined;
  // The split must fall on a slash with ≤155 bytes before it and ≤100 after.
  for (let i = Math.min(155, nameBytes.length - 1); i > 0; i--) {
    if (nameBytes[i] === 0x2f && nameBytes.length - i - 1 <= 100 && nameBytes.length - i - 1 > 0) {
      return { name: nameBytes.subarray(i + 1), prefix: nameBytes.subarray(0, i) };
    }
  }
  return undefined;
}

function ustarBlock(
  h: TarHeader,
  name: Buffer,
  prefix: Buffer,
  linkname: Buffer,
  typeflag: number,
  size: number,
): Buffer {
  const b = Buffer.alloc(BLOCK);
  name.copy(b, 0, 0, Math.min(100, name.length));
  writeOctal(b, h.mode & 0o7777, 100, 8);
  if (h.uid <= MAX_OCTAL_7) writeOctal(b, h.uid, 108, 8);
  else writeOctal(b, 0, 108, 8);
  if (h.gid <= MAX_OCTAL_7) writeOctal(b, h.gid, 116, 8);
  else writeOctal(b, 0, 116, 8);
  if (size <= MAX_OCTAL_11) writeOctal(b, size, 124, 12);
  else writeOctal(b, 0, 124, 12);
  const mt = Math.floor(h.mtime);
  writeOctal(b, mt >= 0 && mt <= MAX_OCTAL_11 ? mt : 0, 136, 12);
  b[156] = typeflag;
  linkname.copy(b, 157, 0, Math.min(100, linkname.length));
  USTAR_MAGIC.copy(b, 257);
  if (h.type === "char" || h.type === "block") {
    if (h.devmajor <= MAX_OCTAL_7) writeOctal(b, h.devmajor, 329, 8);
    else writeBase256(b, h.devmajor, 329, 8);
    if (h.devminor <= MAX_OCTAL_7) writeOctal(b, h.devminor, 337, 8);
    else writeBase256(b, h.devminor, 337, 8);
  } else {
    writeOctal(b, 0, 329, 8);
    writeOctal(b, 0, 337, 8);
  }
  prefix.copy(b, 345, 0, Math.min(155, prefix.length));
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i] as number;
  writeOctal(b, sum, 148, 7);
  b[155] = 0x20;
  return b;
}

/**
 * Encodes one entry's header block(s): a PAX extended header first when a field does not fit
 * ustar (long name or link target, size ≥ 8 GiB, uid/gid > 2097151, mtime out of range or
 * fractional, xattrs), then the ustar block. Output depends only on `h` (reproducible): xattrs
 * are written sorted by name, uname/gname are empty.
 */
export function encodeHeader(h: TarHeader): Buffer {
  const isDir = h.type === "dir";
  const fullName = isDir && !h.name.endsWith("/") ? `${h.name}/` : h.name;
  const nameBytes = Buffer.from(fullName, "utf8");
  const linkBytes = Buffer.from(h.linkname, "utf8");
  const records: Buffer[] = [];
  let split = splitUstarName(nameBytes);
  if (!split) {
    records.push(paxRecord("path", nameBytes));
    split = { name: nameBytes.subarray(0, 100), prefix: Buffer.alloc(0) };
  }
  if (linkBytes.length > 100) records.push(paxRecord("linkpath", linkBytes));
  const size = h.type === "file" ? h.size : 0;
  if (size > MAX_OCTAL_11) records.push(paxRecord("size", Buffer.from(String(size))));
  if (h.uid > MAX_OCTAL_7) records.push(paxRecord("uid", Buffer.from(String(h.uid))));
  if (h.gid > MAX_OCTAL_7) records.push(paxRecord("gid", Buffer.from(String(h.gid))));
  if (h.mtime < 0 || h.mtime > MAX_OCTAL_11 || !Number.isInteger(h.mtime)) {
    records.push(paxRecord("mtime", Buffer.from(formatPaxTime(h.mtime))));
  }
  for (const key of [...h.xattrs.keys()].sort()) {
    records.push(paxRecord(XATTR_PREFIX + key, h.xattrs.get(key) as Buffer));
  }
  const main = ustarBlock(h, split.name, split.prefix, linkBytes, TYPE_FLAG[h.type], size);
  if (records.length === 0) return main;
  const pax = Buffer.concat(records);
  const paxName = Buffer.from(`PaxHeaders/${lastComponent(h.name)}`.slice(0, 100), "utf8").subarray(0, 100);
  const paxHeader: TarHeader = {
    ...h,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 0,
    xattrs: new Map(),
  };
  const paxBlock = ustarBlock(paxHeader, paxName, Buffer.alloc(0), Buffer.alloc(0), 0x78, pax.length);
  return Buffer.concat([paxBlock, pax, Buffer.alloc(paddingFor(pax.length)), main]);
}

function lastComponent(name: string): string {
  const trimmed = name.replace(/\/+$/, "");
  const i = trimmed.lastIndexOf("/");
  return i === -1 ? trimmed : trimmed.slice(i + 1);
}

function formatPaxTime(t: number): string {
  if (Number.isInteger(t)) return String(t);
  const sign = t < 0 ? "-" : "";
  const abs = Math.abs(t);
  const sec = Math.floor(abs);
  const ns = Math.round((abs - sec) * 1e9);
  return ns === 0 ? `${sign}${sec}` : `${sign}${sec}.${String(ns).padStart(9, "0").replace(/0+$/, "")}`;
}

/** A raw header block, decoded but before PAX/GNU extensions are applied. */
export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

/** True when every byte of the block is zero (an end-of-archive marker). */
export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

function cString(b: Buffer, offset: number, width: number): string {
  let end = offset;
  const max = offset + width;
  while (end < max && b[end] !== 0) end++;
  return b.toString("utf8", offset, end);
}

/**
 * A numeric header field: octal (NUL/space padded) or GNU base-256. `INVALID_TAR` naming
 * `field` on a bad digit, a negative or an unsafe integer.
 */
export function parseNumber(b: Buffer, offset: number, width: number, field: string): number {
  const first = b[offset] as number;
  if (first & 0x80) {
    if (first === 0xff) throw new LayerError("INVALID_TAR", `tar header: negative base-256 ${field}`);
    let v = first & 0x7f;
    for (let i = offset + 1; i < offset + width; i++) v = v * 256 + (b[i] as number);
    if (!Number.isSafeInteger(v)) throw new LayerError("INVALID_TAR", `tar header: ${field} too large`);
    return v;
  }
  let i = offset;
  const end = offset + width;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i] as number;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37)
      throw new LayerError("INVALID_TAR", `tar header: invalid octal digit in ${field}`);
    v = v * 8 + (c - 0x30);
    digits++;
  }
  return digits === 0 ? 0 : v;
}

/**
 * Decodes one header block. Verifies the checksum (unsigned, or signed as some old tars wrote
 * it) and throws `LayerError` `INVALID_TAR` naming the problem otherwise. Applies the ustar
 * prefix; GNU and v7 headers are accepted.
 */
export function decodeRawHeader(b: Buffer): RawHeader {
  const stored = parseNumber(b, 148, 8, "checksum");
  // The sum with the checksum field counted as spaces; the signed sum differs by 256 for every
  // byte above 127, so it is only worked out when the unsigned one does not match.
  let unsigned = 8 * 0x20;
  for (let i = 0; i < 148; i++) unsigned += b[i] as number;
  for (let i = 156; i < BLOCK; i++) unsigned += b[i] as number;
  if (stored !== unsigned) {
    let high = 0;
    for (let i = 0; i < BLOCK; i++) if ((i < 148 || i >= 156) && (b[i] as number) > 127) high++;
    if (stored !== unsigned - 256 * high)
      throw new LayerError("INVALID_TAR", "tar header: checksum mismatch (not a tar stream, or corrupt)");
  }
  let name = cString(b, 0, 100);
  // "ustar\0": POSIX ustar (GNU's "ustar  " has no prefix field).
  const isUstar = b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72;
  if (isUstar && b[262] === 0 && b[345] !== 0) name = `${cString(b, 345, 155)}/${name}`;
  return {
    name,
    mode: parseNumber(b, 100, 8, "mode"),
    uid: parseNumber(b, 108, 8, "uid"),
    gid: parseNumber(b, 116, 8, "gid"),
    size: parseNumber(b, 124, 12, "size"),
    mtime: parseNumber(b, 136, 12, "mtime"),
    typeflag: b[156] as number,
    linkname: b[157] === 0 ? "" : cString(b, 157, 100),
    devmajor: parseNumber(b, 329, 8, "devmajor"),
    devminor: parseNumber(b, 337, 8, "devminor"),
  };
}

const SPARSE_OFFSET = "GNU.sparse.offset";
const SPARSE_NUMBYTES = "GNU.sparse.numbytes";

/**
 * Parses a PAX extended header body into records; values stay raw bytes. The repeated
 * `GNU.sparse.offset`/`GNU.sparse.numbytes` records of sparse format 0.0 are joined, in order,
 * into one `GNU.sparse.map` record as format 0.1 writes it (as Go does).
 */
export function decodePax(body: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const sparse: string[] = [];
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break;
    const space = body.indexOf(0x20, pos);
    if (space === -1) throw new LayerError("INVALID_TAR", "tar PAX header: record without length");
    const len = Number.parseInt(body.toString("latin1", pos, space), 10);
    if (
      !Number.isSafeInteger(len) ||
      len <= space - pos + 1 ||
      pos + len > body.length ||
      body[pos + len - 1] !== 0x0a
    ) {
      throw new LayerError("INVALID_TAR", "tar PAX header: malformed record");
    }
    const eq = body.indexOf(0x3d, space + 1);
    if (eq === -1 || eq >= pos + len)
      throw new LayerError("INVALID_TAR", "tar PAX header: record without '='");
    const key = body.toString("utf8", space + 1, eq);
    const value = body.subarray(eq + 1, pos + len - 1);
    if (key === SPARSE_OFFSET || key === SPARSE_NUMBYTES) {
      const v = value.toString("latin1");
      if ((key === SPARSE_OFFSET) !== (sparse.length % 2 === 0) || v.includes(","))
        throw new LayerError("INVALID_TAR", `tar PAX header: ${key} out of order or malformed`);
      sparse.push(v);
    } else out.set(key, value);
    pos += len;
  }
  if (sparse.length > 0) out.set("GNU.sparse.map", Buffer.from(sparse.join(","), "latin1"));
  return out;
}

function paxNumber(v: Buffer, key: string): number {
  const s = v.toString("latin1");
  if (!/^-?\d+(\.\d+)?$/.test(s))
    throw new LayerError("INVALID_TAR", `tar PAX header: invalid ${key} ${JSON.stringify(s)}`);
  const n = Number(s);
  if (!Number.isFinite(n)) throw new LayerError("INVALID_TAR", `tar PAX header: invalid ${key}`);
  return n;
}

function typeOf(flag: number, name: string): TarEntryType {
  switch (flag) {
    case 0:
    case 0x30:
    case 0x37:
    // GNU's old sparse type: a regular file whose map the reader decodes
    case 0x53:
      // v7 tars mark directories only by a trailing slash
      return name.endsWith("/") ? "dir" : "file";
    case 0x31:
      return "link";
    case 0x32:
      return "symlink";
    case 0x33:
      return "char";
    case 0x34:
      return "block";
    case 0x35:
      return "dir";
    case 0x36:
      return "fifo";
    default:
      throw new LayerError(
        "UNSUPPORTED_ENTRY",
        `tar entry ${JSON.stringify(name)}: unsupported type flag ${JSON.stringify(String.fromCharCode(flag))}`,
      );
  }
}

/**
 * Folds PAX records (global then local) and GNU long names into a raw header, giving the
 * entry's final header. Unknown PAX keys are ignored, as POSIX says.
 */
export function finishHeader(
  raw: RawHeader,
  pax: Map<string, Buffer> | undefined,
  longName: string | undefined,
  longLink: string | undefined,
): TarHeader {
  let name = longName ?? raw.name;
  let linkname = longLink ?? raw.linkname;
  let { size, uid, gid, mtime } = raw;
  const xattrs = new Map<string, Buffer>();
  if (pax) {
    for (const [key, value] of pax) {
      if (key === "path") name = value.toString("utf8");
      else if (key === "linkpath") linkname = value.toString("utf8");
      else if (key === "size") size = paxNumber(value, key);
      else if (key === "uid") uid = paxNumber(value, key);
      else if (key === "gid") gid = paxNumber(value, key);
      else if (key === "mtime") mtime = paxNumber(value, key);
      else if (key.startsWith(XATTR_PREFIX)) xattrs.set(key.slice(XATTR_PREFIX.length), value);
    }
  }
  const type = typeOf(raw.typeflag, name);
  if (!Number.isSafeInteger(size) || size < 0)
    throw new LayerError("INVALID_TAR", `tar entry ${JSON.stringify(name)}: invalid size`);
  return {
    name: name.length > 1 && name.endsWith("/") ? name.replace(/\/+$/, "") : name,
    type,
    mode: raw.mode & 0o7777,
    uid,
    gid,
    // Like Go archive/tar: only regular files carry a body; other types' size fields are ignored
    size: type === "file" ? size : 0,
    mtime,
    linkname,
    devmajor: raw.devmajor,
    devminor: raw.devminor,
    xattrs,
  };
}
