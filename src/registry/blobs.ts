import { type FileHandle, open } from "node:fs/promises";
import { bulkTransfer } from "../common/release-memory.js";
import { isErrno } from "../errors.js";
import type { Exchange, RegistryContext } from "./context.js";
import { RegistryError } from "./errors.js";
import { sendFileRange } from "./file-range.js";
import { send } from "./http-util.js";
import { requestDigest } from "./names.js";
import { resolveRange } from "./ranges.js";

// A HEAD that finds a blob refreshes its GC grace time at most this often: a client that found
// the blob will reference it in a manifest soon, and the refresh must not cost a write per HEAD.
const REFRESH_MS = 60_000;

function blobSize(ctx: RegistryContext, ex: Exchange, digest: string): number {
  const size = ctx.meta.blobSizeInRepo(ex.name, digest);
  if (size === undefined) {
    throw new RegistryError("BLOB_UNKNOWN", `blob ${digest} is not in repository ${ex.name}`, {
      detail: { digest },
    });
  }
  return size;
}

// The refresh is throttled in memory first, so a HEAD costs no SQLite write most of the time.
function refresh(ctx: RegistryContext, digest: string): void {
  const now = Date.now();
  const last = ctx.refreshed.get(digest);
  if (last !== undefined && now - last < REFRESH_MS) return;
  if (ctx.refreshed.size >= 100_000) ctx.refreshed.clear();
  ctx.refreshed.set(digest, now);
  ctx.meta.refreshBlob(digest, REFRESH_MS);
}

/** `HEAD /v2/<name>/blobs/<digest>` (end-2): size and digest of a blob linked into the repository. */
export function headBlob(ctx: RegistryContext, ex: Exchange, rawDigest: string): void {
  const digest = requestDigest(rawDigest, "digest");
  const size = blobSize(ctx, ex, digest);
  refresh(ctx, digest);
  ex.res.writeHead(200, {
    "Content-Length": size,
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": digest,
    "Accept-Ranges": "bytes",
    ETag: `"${digest}"`,
  });
  ex.res.end();
}

/**
 * `GET /v2/<name>/blobs/<digest>` (end-2): streams the blob from its file with its exact
 * `Content-Length`, or one byte range (`206`, `416` past the end).
 */
export async function getBlob(ctx: RegistryContext, ex: Exchange, rawDigest: string): Promise<void> {
  const digest = requestDigest(rawDigest, "digest");
  const size = blobSize(ctx, ex, digest);
  const range = resolveRange(ex.req.headers.range, size);
  const headers: Record<string, string | number> = {
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": digest,
    "Accept-Ranges": "bytes",
    ETag: `"${digest}"`,
  };
  if (range === "unsatisfiable") {
    headers["Content-Range"] = `bytes */${size}`;
    send(ex.res, 416, headers);
    return;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  if (size === 0) {
    send(ex.res, 200, headers);
    return;
  }
  let file: FileHandle;
  try {
    file = await open(ctx.store.blobPath(digest), "r");
  } catch (err) {
    if (isErrno(err, "ENOENT")) {
      throw new RegistryError("BLOB_UNKNOWN", `blob ${digest} is not stored`, { detail: { digest } });
    }
    throw err;
  }
  try {
    headers["Content-Length"] = end - start + 1;
    if (range) headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
    ex.res.writeHead(range ? 206 : 200, headers);
    const transferred = bulkTransfer();
    let sent = 0;
    try {
      sent = await sendFileRange(file, ex.res, start, end);
    } catch {
      // A read failed or the file was shorter than recorded: the response is cut off (the
      // client sees a short body, never wrong bytes); the answer is already under way.
    } finally {
      transferred(sent);
    }
  } finally {
    await file.close();
  }
}

/** `DELETE /v2/<name>/blobs/<digest>` (end-10): unlinks the blob from the repository; GC frees the bytes. */
export function deleteBlob(ctx: RegistryContext, ex: Exchange, rawDigest: string): void {
  if (!ctx.config.storage.delete)
    throw new RegistryError("UNSUPPORTED", "deletes are disabled on this registry");
  const digest = requestDigest(rawDigest, "digest");
  if (!ctx.meta.unlinkBlob(ex.name, digest)) {
    throw new RegistryError("BLOB_UNKNOWN", `blob ${digest} is not in repository ${ex.name}`, {
      detail: { digest },
    });
  }
  send(ex.res, 202, { "Docker-Content-Digest": digest });
}
