import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { decompress, sniffCompression } from "../../layer/index.js";
import { normalizeArchivePath } from "./archive-path.js";

type TarHeader = Partial<tar.Header> & { name: string };

/** One entry of an archive being read: its canonical path, tar header and data. */
export interface ArchiveEntry {
  path: string;
  header: tar.Header;
  /** The entry's bytes; what the consumer leaves unread is skipped. */
  data: AsyncIterable<Uint8Array>;
}

/** The first bytes of a file, to tell whether the archive itself is compressed. */
async function head(path: string): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(8);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Streams the entries of a tar archive at `path` (also accepting a gzip- or zstd-compressed tar,
 * as `docker save | gzip` makes), one at a time: the next entry comes once the previous one's data
 * has been consumed. Nothing is held in memory beyond one chunk.
 */
export async function* archiveEntries(path: string): AsyncGenerator<ArchiveEntry> {
  const compression = sniffCompression(await head(path)) ?? "none";
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const source = compression === "none" ? file : decompress(file, compression);
  const extract = tar.extract();
  source.on("error", (err: Error) => extract.destroy(err));
  source.pipe(extract);
  try {
    for await (const entry of extract) {
      yield {
        path: normalizeArchivePath(entry.header.name),
        header: entry.header,
        data: entry as unknown as AsyncIterable<Uint8Array>,
      };
      // Whatever the consumer left unread is skipped, so the next entry can come.
      entry.resume();
    }
  } finally {
    file.destroy();
    extract.destroy();
  }
}

/** Appends one entry to `pack`, streaming `data` (a buffer, or a stream of exactly `size` bytes). */
export async function writeEntry(
  pack: tar.Pack,
  name: string,
  data: Buffer | AsyncIterable<Uint8Array>,
  size?: number,
): Promise<void> {
  const header: TarHeader = {
    name,
    size: Buffer.isBuffer(data) ? data.length : size,
    mode: 0o444,
    mtime: new Date(0),
    uid: 0,
    gid: 0,
    type: "file",
  };
  if (Buffer.isBuffer(data)) {
    await new Promise<void>((resolve, reject) =>
      pack.entry(header, data, (err) => (err ? reject(err) : resolve())),
    );
    return;
  }
  let entry: ReturnType<tar.Pack["entry"]> | undefined;
  const written = new Promise<void>((resolve, reject) => {
    entry = pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
  const sink = entry!;
  try {
    for await (const chunk of data) {
      if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once("drain", resolve));
    }
    sink.end(undefined);
  } catch (err) {
    sink.destroy(err as Error);
    written.catch(() => {});
    throw err;
  }
  await written;
}

/** Appends a directory entry to `pack`. */
export async function writeDirectory(pack: tar.Pack, name: string): Promise<void> {
  const header: TarHeader = { name, type: "directory", mode: 0o755, mtime: new Date(0), uid: 0, gid: 0 };
  await new Promise<void>((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
}

/**
 * Writes a tar archive to `out` with `fill` adding the entries. A path is written to a temp file
 * beside it and renamed into place only when complete, so a failure leaves no archive behind;
 * a stream gets the bytes as they are made (the caller owns its cleanup).
 */
export async function writeArchive(
  out: Writable | string,
  fill: (pack: tar.Pack) => Promise<void>,
): Promise<void> {
  const pack = tar.pack();
  const tmp =
    typeof out === "string"
      ? join(dirname(out), `.${basename(out)}.${randomBytes(6).toString("hex")}.tmp`)
      : undefined;
  const sink = tmp ? createWriteStream(tmp, { flags: "wx", mode: 0o644 }) : (out as Writable);
  const done = pipeline(pack, sink);
  try {
    await fill(pack);
    pack.finalize();
    await done;
    if (tmp) await rename(tmp, out as string);
  } catch (err) {
    pack.destroy();
    await done.catch(() => {});
    if (tmp) await unlink(tmp).catch(() => {});
    throw err;
  }
}
