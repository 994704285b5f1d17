/**
 * Uploads a stranger sends pierd (a `docker cp` tar, an import, a `docker load` archive): spooled
 * to a private scratch directory under the engine's root, bounded in size, never held in memory.
 */
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, open, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ContainerService } from "./containers/service.js";
import { EngineError } from "./error.js";

/** The largest upload pierd accepts (8 GiB: spooled to disk, then applied or imported). */
export const MAX_UPLOAD_BYTES = 8 * 1024 ** 3;

/** Counts an upload's bytes and fails it past `limit`. */
function sizeLimit(limit: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > limit)
        cb(new EngineError("INVALID_ARGUMENT", `${what} larger than ${limit} bytes: refused`));
      else cb(null, chunk);
    },
  });
}

/**
 * Spools a stranger's upload to `dir/name` (at most `limit` bytes) and returns its path and
 * its first bytes (for sniffing the compression).
 */
export async function spoolUpload(
  body: Readable,
  dir: string,
  name: string,
  limit: number,
  what: string,
): Promise<{ path: string; head: Buffer }> {
  const path = join(dir, name);
  await pipeline(body, sizeLimit(limit, what), createWriteStream(path, { mode: 0o600 }));
  const head = Buffer.alloc(8);
  const fh = await open(path, "r");
  try {
    await fh.read(head, 0, 8, 0);
  } finally {
    await fh.close();
  }
  return { path, head };
}

/** A private scratch directory under the engine's root, removed after `fn`. */
export async function withScratch<T>(svc: ContainerService, fn: (dir: string) => Promise<T>): Promise<T> {
  const base = join(svc.root, "tmp");
  // Not a tmpfs: uploads can be gigabytes. Left-overs of a killed pierd: removeScratch.
  await mkdir(base, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(base, "work-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Removes the scratch directories under `root` that a killed pierd left (call once at startup,
 * before any request); resolves with their names.
 */
export async function removeScratch(root: string): Promise<string[]> {
  const base = join(root, "tmp");
  let names: string[];
  try {
    names = (await readdir(base)).filter((n) => n.startsWith("work-"));
  } catch {
    return [];
  }
  for (const n of names) await rm(join(base, n), { recursive: true, force: true });
  return names;
}
