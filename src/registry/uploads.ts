import { randomUUID } from "node:crypto";
import { statfs } from "node:fs/promises";
import type { OutgoingHttpHeaders } from "node:http";
import { bodyBytesArrived, bulkTransfer } from "../common/release-memory.js";
import type { ContentWriter } from "../content/store.js";
import { isPierError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import { bodyPace, type Exchange, type RegistryContext } from "./context.js";
import { RegistryError } from "./errors.js";
import { bodyChunks, contentLength, send } from "./http-util.js";
import { checkRepositoryName, requestDigest } from "./names.js";
import { parseContentRange, uploadRangeHeader } from "./ranges.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The content-store writer ref of an upload session: one resumable ingest per session. */
export function uploadRef(id: string): string {
  return `registry-upload:${id}`;
}

/** Translates content-layer failures of an upload into the spec's codes; others pass through. */
export function uploadError(err: unknown): unknown {
  if (!isPierError(err) || err instanceof RegistryError) return err;
  switch (err.code) {
    case "DIGEST_MISMATCH":
    case "INVALID_DIGEST":
    case "UNSUPPORTED_DIGEST_ALGORITHM":
      return new RegistryError("DIGEST_INVALID", err.message, { cause: err });
    case "SIZE_MISMATCH":
      return new RegistryError("SIZE_INVALID", err.message, { cause: err });
    case "INGEST_IN_PROGRESS":
    case "LOCKED":
      return new RegistryError("BLOB_UPLOAD_INVALID", "another request is writing this upload session", {
        status: 416,
        cause: err,
      });
    default:
      return err;
  }
}

function tooLarge(size: number, max: number): RegistryError {
  return new RegistryError("SIZE_INVALID", `blob of ${size} bytes exceeds this registry's limit of ${max}`, {
    status: 413,
    detail: { size, limit: max },
  });
}

/**
 * Refuses a body that cannot fit before reading any of it: a blob that would grow past
 * `storage.maxBlobBytes` (`offset` bytes are already in the session), or a body larger than
 * the free space of the registry's disk (a client claiming 10 GB on a small disk).
 */
async function checkClaimedSize(
  ctx: RegistryContext,
  claimed: number | undefined,
  offset = 0,
): Promise<void> {
  if (claimed === undefined || claimed === 0) return;
  const max = ctx.config.storage.maxBlobBytes;
  if (max > 0 && offset + claimed > max) throw tooLarge(offset + claimed, max);
  if (claimed > 16 << 20) {
    const fs = await statfs(ctx.config.root);
    const free = fs.bavail * fs.bsize;
    if (claimed > free) {
      throw new RegistryError("SIZE_INVALID", `blob of ${claimed} bytes does not fit: ${free} bytes free`, {
        status: 413,
        detail: { size: claimed, free },
      });
    }
  }
}

// Socket reads arrive in ~64 KiB pieces; the store hashes and writes each piece with one
// thread-pool round trip, so 1 MiB batches cut those round trips sixteenfold.
const BATCH = 1 << 20;

/**
 * The request body as a byte source in batches of at most 1 MiB, failing once the blob would pass
 * `storage.maxBlobBytes` (bodies without a `Content-Length` cannot be checked up front).
 * A batch of several pieces is copied into one buffer per request, reused for every batch: the
 * stores hash and write a chunk before they ask for the next (`ingest`, `BlobWriter.write`). A
 * fresh 1 MiB buffer per batch left the process's malloc heap 20-30 MiB larger after a 1 GiB
 * push (`bench/registry`), freed but fragmented, never returned to the system. The buffer is
 * made only once a full batch has arrived, so a slow client costs what it sent, no more.
 */
async function* requestBody(ctx: RegistryContext, ex: Exchange, offset: number): AsyncGenerator<Uint8Array> {
  const max = ctx.config.storage.maxBlobBytes;
  let total = offset;
  let parts: Buffer[] = [];
  let pending = 0;
  let batch: Buffer | undefined;
  const take = (): Uint8Array => {
    let out: Uint8Array;
    if (parts.length === 1) out = parts[0]!;
    else {
      batch ??= Buffer.allocUnsafeSlow(BATCH);
      let at = 0;
      for (const p of parts) at += p.copy(batch, at);
      out = batch.subarray(0, at);
    }
    parts = [];
    pending = 0;
    return out;
  };
  for await (const chunk of bodyChunks(ex.req, bodyPace(ctx, "BLOB_UPLOAD_INVALID"))) {
    bodyBytesArrived(chunk.length);
    total += chunk.length;
    if (max > 0 && total > max) throw tooLarge(total, max);
    // Pending pieces never pass a batch: what would overflow it goes first.
    if (pending > 0 && pending + chunk.length > BATCH) yield take();
    parts.push(chunk);
    pending += chunk.length;
    if (pending >= BATCH) yield take();
  }
  if (pending > 0) yield take();
}

function sessionHeaders(ctx: RegistryContext, name: string, id: string, offset: number): OutgoingHttpHeaders {
  return {
    Location: `${ctx.prefix}${name}/blobs/uploads/${id}`,
    Range: uploadRangeHeader(offset),
    "Docker-Upload-UUID": id,
  };
}

function blobCreated(ctx: RegistryContext, ex: Exchange, digest: Digest): void {
  send(ex.res, 201, { Location: `${ctx.prefix}${ex.name}/blobs/${digest}`, "Docker-Content-Digest": digest });
}

/** Publishes bytes expected to hash to `digest`, marking them pending so a concurrent GC keeps them. */
async function publish<T>(ctx: RegistryContext, digest: Digest, work: () => Promise<T>): Promise<T> {
  ctx.meta.markPending(digest);
  try {
    return await work();
  } catch (err) {
    ctx.meta.clearPending(digest);
    throw uploadError(err);
  }
}

function openSession(ctx: RegistryContext, ex: Exchange): void {
  const id = randomUUID();
  ctx.meta.createUpload(id, ex.name);
  send(ex.res, 202, sessionHeaders(ctx, ex.name, id, 0));
}

/**
 * `POST /v2/<name>/blobs/uploads/` (end-4a, end-4b, end-11): opens a session; with `?digest=`
 * stores a monolithic upload; with `?mount=&from=` links a blob the client may pull from
 * another repository, falling back to a new session when it cannot. With `?mount=` and no
 * `from`, and `storage.autoCrossMount` on (automatic content discovery), links the blob from
 * any repository that holds it and that the caller may pull; off, it opens a session as the
 * spec says.
 */
export async function postUpload(ctx: RegistryContext, ex: Exchange): Promise<void> {
  const mount = ex.query.get("mount");
  if (mount !== null) {
    const digest = requestDigest(mount, "mount");
    const from = ex.query.get("from");
    if (from === ex.name) {
      if (ctx.meta.blobSizeInRepo(ex.name, digest) !== undefined) {
        blobCreated(ctx, ex, digest);
        return;
      }
    } else if (from !== null) {
      checkRepositoryName(from);
      const size = ctx.meta.blobSizeInRepo(from, digest);
      if (size !== undefined && (await ex.mayPull(from))) {
        ctx.meta.linkBlob(ex.name, digest, size);
        blobCreated(ctx, ex, digest);
        return;
      }
    } else if (ctx.config.storage.autoCrossMount) {
      // The repository itself first: linking is then a no-op.
      const here = ctx.meta.blobSizeInRepo(ex.name, digest);
      const holder =
        here !== undefined ? { repo: ex.name, size: here } : ctx.meta.findBlobHolder(digest, ex.canPull);
      if (holder !== undefined) {
        ctx.meta.linkBlob(ex.name, digest, holder.size);
        blobCreated(ctx, ex, digest);
        return;
      }
    }
    openSession(ctx, ex);
    return;
  }
  const rawDigest = ex.query.get("digest");
  if (rawDigest === null) {
    openSession(ctx, ex);
    return;
  }
  const digest = requestDigest(rawDigest, "digest");
  const claimed = contentLength(ex.req);
  await checkClaimedSize(ctx, claimed);
  const info = await publish(ctx, digest, () =>
    ctx.store.ingest(requestBody(ctx, ex, 0), claimed === undefined ? { digest } : { digest, size: claimed }),
  );
  ctx.meta.linkBlob(ex.name, digest, info.size);
  blobCreated(ctx, ex, digest);
}

/** What a session step did: `keep` the writer's data for later, or `done` with it; then how to answer. */
type Step = { state: "done" | "keep"; respond: () => void };

/**
 * Runs `work` with the session's writer, one request per session at a time. The writer is
 * closed (its lock released) before the answer goes out, so the client's next request on the
 * session never finds it busy.
 */
async function withSession(
  ctx: RegistryContext,
  ex: Exchange,
  id: string,
  work: (w: ContentWriter) => Promise<Step>,
): Promise<void> {
  if (!UUID.test(id) || ctx.meta.uploadRepo(id) !== ex.name) {
    throw new RegistryError("BLOB_UPLOAD_UNKNOWN", `upload ${JSON.stringify(id)} is unknown to ${ex.name}`, {
      detail: { uuid: id },
    });
  }
  if (ctx.busyUploads.has(id)) {
    throw new RegistryError("BLOB_UPLOAD_INVALID", "another request is writing this upload session", {
      status: 416,
      headers: { Location: `${ctx.prefix}${ex.name}/blobs/uploads/${id}`, "Docker-Upload-UUID": id },
    });
  }
  ctx.busyUploads.add(id);
  let writer: ContentWriter | undefined;
  let step: Step | undefined;
  try {
    writer = await ctx.store.writer(uploadRef(id)).catch((err: unknown) => {
      throw uploadError(err);
    });
    step = await work(writer);
  } finally {
    if (writer && step?.state !== "done") await writer.close().catch(() => {});
    ctx.busyUploads.delete(id);
  }
  step.respond();
}

/**
 * Appends the request body to the session after checking `Content-Range` (must start at the
 * current offset, else `416` with the current `Range`) and `Content-Length` (must match it).
 */
async function appendChunk(ctx: RegistryContext, ex: Exchange, id: string, w: ContentWriter): Promise<void> {
  const claimed = contentLength(ex.req);
  const range = parseContentRange(ex.req.headers["content-range"]);
  if (range === "invalid") {
    throw new RegistryError(
      "BLOB_UPLOAD_INVALID",
      `malformed Content-Range ${ex.req.headers["content-range"]}`,
      {
        status: 416,
        headers: sessionHeaders(ctx, ex.name, id, w.offset) as Record<string, string>,
      },
    );
  }
  if (range !== undefined) {
    if (range.start !== w.offset) {
      throw new RegistryError(
        "BLOB_UPLOAD_INVALID",
        `chunk starts at ${range.start} but the upload holds ${w.offset} bytes`,
        { status: 416, headers: sessionHeaders(ctx, ex.name, id, w.offset) as Record<string, string> },
      );
    }
    if (claimed !== undefined && claimed !== range.end - range.start + 1) {
      throw new RegistryError(
        "SIZE_INVALID",
        `Content-Length ${claimed} does not match Content-Range ${range.start}-${range.end}`,
      );
    }
  }
  await checkClaimedSize(ctx, claimed, w.offset);
  const before = w.offset;
  const transferred = bulkTransfer();
  const after = await w
    .writeStream(requestBody(ctx, ex, before))
    .catch((err: unknown) => {
      throw uploadError(err);
    })
    .finally(() => transferred(w.offset - before));
  if (claimed !== undefined && after - before !== claimed) {
    throw new RegistryError(
      "SIZE_INVALID",
      `chunk has ${after - before} bytes, Content-Length said ${claimed}`,
    );
  }
}

/** `PATCH /v2/<name>/blobs/uploads/<id>` (end-5): appends a chunk (or a stream) to the session. */
export async function patchUpload(ctx: RegistryContext, ex: Exchange, id: string): Promise<void> {
  await withSession(ctx, ex, id, async (w) => {
    await appendChunk(ctx, ex, id, w);
    const headers = sessionHeaders(ctx, ex.name, id, w.offset);
    return { state: "keep", respond: () => send(ex.res, 202, headers) };
  });
}

/**
 * `PUT /v2/<name>/blobs/uploads/<id>?digest=` (end-6): appends an optional last chunk, then
 * verifies and publishes the blob. A digest mismatch deletes the data and ends the session.
 */
export async function putUpload(ctx: RegistryContext, ex: Exchange, id: string): Promise<void> {
  const digest = requestDigest(ex.query.get("digest"), "digest");
  await withSession(ctx, ex, id, async (w) => {
    if (
      ex.req.headers["content-length"] !== "0" &&
      (ex.req.headers["content-length"] || ex.req.headers["transfer-encoding"])
    ) {
      await appendChunk(ctx, ex, id, w);
    }
    let info: { size: number };
    try {
      info = await publish(ctx, digest, () => w.commit({ digest }));
    } catch (err) {
      // The content store deleted the data on a mismatch: the session cannot continue.
      if (err instanceof RegistryError && (err.code === "DIGEST_INVALID" || err.code === "SIZE_INVALID")) {
        ctx.meta.deleteUpload(id);
        return Promise.reject(err);
      }
      throw err;
    }
    ctx.meta.linkBlob(ex.name, digest, info.size);
    ctx.meta.deleteUpload(id);
    return { state: "done", respond: () => blobCreated(ctx, ex, digest) };
  });
}

/** `GET /v2/<name>/blobs/uploads/<id>` (end-13): `204` with the bytes received so far in `Range`. */
export async function getUpload(ctx: RegistryContext, ex: Exchange, id: string): Promise<void> {
  await withSession(ctx, ex, id, async (w) => {
    const headers = sessionHeaders(ctx, ex.name, id, w.offset);
    return { state: "keep", respond: () => send(ex.res, 204, headers) };
  });
}

/** `DELETE /v2/<name>/blobs/uploads/<id>`: cancels the session and deletes its data. */
export async function deleteUpload(ctx: RegistryContext, ex: Exchange, id: string): Promise<void> {
  await withSession(ctx, ex, id, async (w) => {
    await w.abort();
    ctx.meta.deleteUpload(id);
    return { state: "done", respond: () => send(ex.res, 204, {}) };
  });
}
