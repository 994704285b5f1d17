/**
 * Test fixtures for the layer tests: hand-made tar streams (including hostile ones). Tree
 * snapshots, which other layers' tests use too, are in `src/testing/tree-snapshot.ts`. Not part
 * of the library API.
 */

import { Readable } from "node:stream";
import { BLOCK, encodeHeader, paddingFor, paxRecord, type TarHeader } from "../layer/tar-header.js";

/** A tar entry for {@link tarOf}: header fields (defaults filled in) and an optional body. */
export interface FixtureEntry extends Partial<TarHeader> {
  name: string;
  body?: string | Buffer;
}

/** A complete header with defaults: a 0644 root-owned regular file at mtime 1e9. */
export function header(e: FixtureEntry): TarHeader {
  const { body: raw, ...fields } = e;
  const body = raw === undefined ? undefined : Buffer.from(raw);
  return {
    type: "file",
    mode: e.type === "dir" ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtime: 1_000_000_000,
    linkname: "",
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
    ...fields,
    size: e.size ?? body?.length ?? 0,
  };
}

/** The bytes of an uncompressed tar holding `entries` in the given order. */
export function tarOf(entries: FixtureEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const h = header(e);
    parts.push(encodeHeader(h));
    if (e.body !== undefined) {
      const body = Buffer.from(e.body);
      parts.push(body, Buffer.alloc(paddingFor(body.length)));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** A readable stream of `data`. */
export function streamOf(data: Buffer): Readable {
  return Readable.from([data]);
}

/**
 * A raw header block of type `flag` (`x`, `g`, `L`, `0`, …) named `name` whose body is `body`
 * (or the PAX records `body` encodes), padded: the parts of hostile streams that
 * {@link tarOf}'s writer would never produce. Concatenate with `tarOf` output.
 */
export function rawEntry(flag: string, name: string, body: Buffer | [string, string | Buffer][]): Buffer {
  const data = Buffer.isBuffer(body)
    ? body
    : Buffer.concat(body.map(([k, v]) => paxRecord(k, Buffer.from(v))));
  const block = Buffer.from(encodeHeader(header({ name, size: data.length })));
  block[156] = flag.charCodeAt(0);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i] as number;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return Buffer.concat([block, data, Buffer.alloc(paddingFor(data.length))]);
}
