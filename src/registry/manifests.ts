import { isPierError } from "../errors.js";
import { digestAlgorithm, digestOf } from "../oci/digest.js";
import { bodyPace, type Exchange, type RegistryContext } from "./context.js";
import { RegistryError } from "./errors.js";
import { readBody, send } from "./http-util.js";
import { inspectManifest } from "./manifest.js";
import type { ManifestRow } from "./metadata.js";
import { type ManifestReference, parseReference } from "./names.js";
import { type Negotiation, negotiate } from "./negotiate.js";
import { checkTrustedPull } from "./trust.js";

function unknown(ctx: RegistryContext, name: string, reference: string): RegistryError {
  if (!ctx.meta.repoExists(name)) {
    return new RegistryError("NAME_UNKNOWN", `repository ${name} is not known to this registry`, {
      detail: { name },
    });
  }
  return new RegistryError("MANIFEST_UNKNOWN", `manifest ${reference} is not in repository ${name}`, {
    detail: { reference },
  });
}

function resolve(
  ctx: RegistryContext,
  name: string,
  reference: string,
): { row: ManifestRow; byTag: boolean } {
  const ref = parseReference(reference, "MANIFEST_UNKNOWN");
  const row =
    ref.kind === "tag" ? ctx.meta.taggedManifest(name, ref.tag) : ctx.meta.cachedManifest(name, ref.digest);
  if (!row) throw unknown(ctx, name, reference);
  return { row, byTag: ref.kind === "tag" };
}

/** A manifest's bytes, from the LRU or the content store. */
async function manifestBytes(ctx: RegistryContext, name: string, row: ManifestRow): Promise<Buffer> {
  let body = ctx.cache.get(row.digest);
  if (body === undefined) {
    try {
      body = await ctx.store.readBytes(row.digest, ctx.config.storage.maxManifestBytes);
    } catch (err) {
      if (isPierError(err, "NOT_FOUND")) throw unknown(ctx, name, row.digest);
      throw err;
    }
    ctx.cache.set(row.digest, body);
  }
  return body;
}

/** The linux/amd64 image of a stored index, in one of the `accepted` types and in the repository. */
async function defaultChild(
  ctx: RegistryContext,
  name: string,
  index: ManifestRow,
  accepted: ReadonlySet<string>,
): Promise<ManifestRow | undefined> {
  const doc = JSON.parse((await manifestBytes(ctx, name, index)).toString("utf8")) as {
    manifests?: { mediaType?: string; digest?: string; platform?: { os?: string; architecture?: string } }[];
  };
  for (const m of doc.manifests ?? []) {
    if (m.platform?.os !== "linux" || m.platform.architecture !== "amd64") continue;
    if (!m.mediaType || !accepted.has(m.mediaType) || !m.digest) continue;
    const row = ctx.meta.manifest(name, m.digest);
    if (row) return row;
  }
  return undefined;
}

/**
 * `GET`/`HEAD /v2/<name>/manifests/<reference>` (end-3): the stored bytes under their own media
 * type and digest; bodies come from an in-memory LRU, else from the content store. By tag, the
 * `Accept` header is honoured as distribution does (see {@link negotiate}): a client that
 * cannot read an index gets its linux/amd64 image, one that can read nothing stored gets
 * `MANIFEST_UNKNOWN`. By digest, the bytes are always those of the digest.
 */
export function getManifest(
  ctx: RegistryContext,
  ex: Exchange,
  reference: string,
  head: boolean,
): Promise<void> | undefined {
  const found = resolve(ctx, ex.name, reference);
  if (found.byTag) {
    const n = negotiate(ex.req.headers.accept, found.row.mediaType);
    if (n.kind !== "stored") return answerChild(ctx, ex, reference, found.row, n, head);
  }
  // A HEAD, or a cached body and no trust rules (the common case), is answered at once: no
  // promise on the registry's hottest path.
  const body = head ? undefined : ctx.cache.get(found.row.digest);
  if (head || (body !== undefined && !hasTrustRules(ctx))) {
    answer(ex, found.row, body);
    return undefined;
  }
  return answerRead(ctx, ex, found.row, head);
}

function hasTrustRules(ctx: RegistryContext): boolean {
  return ctx.config.trust !== undefined && ctx.config.trust.length > 0;
}

/** Sends a manifest row's headers, and its body unless this is a HEAD (`body` undefined). */
function answer(ex: Exchange, row: ManifestRow, body: Buffer | undefined): void {
  ex.res.writeHead(200, {
    "Content-Type": row.mediaType,
    "Content-Length": row.size,
    "Docker-Content-Digest": row.digest,
    ETag: `"${row.digest}"`,
  });
  ex.res.end(body);
}

/** A manifest whose body is read from the store, or whose pull the trust rules check first. */
async function answerRead(
  ctx: RegistryContext,
  ex: Exchange,
  row: ManifestRow,
  head: boolean,
): Promise<void> {
  if (head) {
    answer(ex, row, undefined);
    return;
  }
  const body = await manifestBytes(ctx, ex.name, row);
  if (hasTrustRules(ctx))
    await checkTrustedPull(ctx, ex.name, row, body, (d, max) => ctx.store.readBytes(d, max));
  answer(ex, row, body);
}

/** An index asked for by a client that cannot read it: its linux/amd64 image, or `MANIFEST_UNKNOWN`. */
async function answerChild(
  ctx: RegistryContext,
  ex: Exchange,
  reference: string,
  index: ManifestRow,
  n: Exclude<Negotiation, { kind: "stored" }>,
  head: boolean,
): Promise<void> {
  const child = n.kind === "child" ? await defaultChild(ctx, ex.name, index, n.accepted) : undefined;
  if (!child) {
    throw new RegistryError(
      "MANIFEST_UNKNOWN",
      `manifest ${reference} is ${index.mediaType}, which the request's Accept header does not list`,
      { detail: { reference, mediaType: index.mediaType } },
    );
  }
  await answerRead(ctx, ex, child, head);
}

/**
 * `PUT /v2/<name>/manifests/<reference>` (end-7): validates the body, checks a digest reference
 * against it, requires every referenced blob and child manifest to be in the repository, then
 * publishes the bytes and records the manifest (and tag) in one transaction.
 */
export async function putManifest(ctx: RegistryContext, ex: Exchange, reference: string): Promise<void> {
  const ref: ManifestReference = parseReference(reference, "MANIFEST_INVALID");
  const limit = ctx.config.storage.maxManifestBytes;
  const body = await readBody(
    ex.req,
    limit,
    () =>
      new RegistryError("MANIFEST_INVALID", `manifest exceeds the limit of ${limit} bytes`, {
        status: 413,
        detail: { limit },
      }),
    bodyPace(ctx, "MANIFEST_INVALID"),
  );
  const digest = digestOf(body, ref.kind === "digest" ? digestAlgorithm(ref.digest) : "sha256");
  if (ref.kind === "digest" && ref.digest !== digest) {
    throw new RegistryError("DIGEST_INVALID", `manifest digest is ${digest}, not ${ref.digest}`, {
      detail: { expected: ref.digest, actual: digest },
    });
  }
  const facts = inspectManifest(body, ex.req.headers["content-type"]);
  ctx.meta.markPending(digest);
  try {
    await ctx.store.ingest(body, { digest, size: body.length });
    ctx.meta.putManifest(ex.name, digest, body.length, facts, ref.kind === "tag" ? ref.tag : undefined);
  } catch (err) {
    ctx.meta.clearPending(digest);
    throw err;
  }
  ctx.cache.set(digest, body);
  const headers: Record<string, string> = {
    Location: `${ctx.prefix}${ex.name}/manifests/${digest}`,
    "Docker-Content-Digest": digest,
  };
  if (facts.subject) headers["OCI-Subject"] = facts.subject;
  send(ex.res, 201, headers);
}

/**
 * `DELETE /v2/<name>/manifests/<reference>` (end-9): by tag removes only the tag; by digest
 * removes the manifest and every tag pointing at it. Blobs stay until garbage collection.
 */
export function deleteManifest(ctx: RegistryContext, ex: Exchange, reference: string): void {
  if (!ctx.config.storage.delete)
    throw new RegistryError("UNSUPPORTED", "deletes are disabled on this registry");
  const ref = parseReference(reference, "MANIFEST_UNKNOWN");
  const gone =
    ref.kind === "tag" ? ctx.meta.deleteTag(ex.name, ref.tag) : ctx.meta.deleteManifest(ex.name, ref.digest);
  if (!gone) throw unknown(ctx, ex.name, reference);
  send(ex.res, 202, {});
}
