import { MediaType } from "../oci/media-types.js";
import type { Exchange, RegistryContext } from "./context.js";
import { RegistryError } from "./errors.js";
import { send, sendJson } from "./http-util.js";
import { requestDigest } from "./names.js";
import { cutPage, pageLimit, parsePageRequest } from "./pagination.js";

// With no `n`, a page holds this many names (the client follows `Link` for the rest).
const MAX_PAGE = 10_000;

/** `GET /v2/<name>/tags/list` (end-8a, end-8b): tags in byte order, paginated by `n`/`last` with `Link`. */
export function listTags(ctx: RegistryContext, ex: Exchange): void {
  if (!ctx.meta.repoExists(ex.name)) {
    throw new RegistryError("NAME_UNKNOWN", `repository ${ex.name} is not known to this registry`, {
      detail: { name: ex.name },
    });
  }
  const page = parsePageRequest(ex.query);
  const limit = pageLimit(page, MAX_PAGE);
  const rows = limit === 0 ? [] : ctx.meta.listTags(ex.name, page.last, limit + 1);
  const { items, link } = cutPage(`${ctx.prefix}${ex.name}/tags/list`, rows, limit);
  sendJson(ex.res, 200, { name: ex.name, tags: items }, link ? { Link: link } : {});
}

// The catalog is filtered in batches of this many names.
const CATALOG_BATCH = 1000;

/** Up to `want` repository names after `last` that the caller may pull, in byte order. */
function visibleRepos(ctx: RegistryContext, ex: Exchange, last: string, want: number): string[] {
  if (ctx.auth.mode === "none") return ctx.meta.listRepos(last, want);
  const out: string[] = [];
  let after = last;
  for (;;) {
    const batch = ctx.meta.listRepos(after, CATALOG_BATCH);
    for (const name of batch) {
      if (!ex.canPull(name)) continue;
      out.push(name);
      if (out.length === want) return out;
    }
    if (batch.length < CATALOG_BATCH) return out;
    after = batch[batch.length - 1]!;
  }
}

/**
 * `GET /v2/_catalog`: the names of the repositories the caller may pull (all of them without
 * auth), in byte order, paginated like tags. A repository the caller cannot read is not
 * revealed, not even by its name.
 */
export function listCatalog(ctx: RegistryContext, ex: Exchange): void {
  const page = parsePageRequest(ex.query);
  const limit = pageLimit(page, MAX_PAGE);
  const rows = limit === 0 ? [] : visibleRepos(ctx, ex, page.last, limit + 1);
  const { items, link } = cutPage(`${ctx.prefix}_catalog`, rows, limit);
  sendJson(ex.res, 200, { repositories: items }, link ? { Link: link } : {});
}

/**
 * `GET /v2/<name>/referrers/<digest>` (end-12a, end-12b): an OCI index of the repository's
 * manifests whose `subject` is `digest`, with their artifact types and annotations; filtered by
 * `artifactType` when asked (and then says so in `OCI-Filters-Applied`). An unknown subject or
 * repository is an empty index, never a 404.
 */
export function listReferrers(ctx: RegistryContext, ex: Exchange, rawDigest: string): void {
  const subject = requestDigest(rawDigest, "digest");
  const filter = ex.query.get("artifactType");
  const manifests = [];
  for (const row of ctx.meta.referrers(ex.name, subject)) {
    if (filter !== null && row.artifactType !== filter) continue;
    const d: Record<string, unknown> = { mediaType: row.mediaType, digest: row.digest, size: row.size };
    if (row.artifactType !== null) d.artifactType = row.artifactType;
    if (row.annotations !== null) d.annotations = JSON.parse(row.annotations);
    manifests.push(d);
  }
  const headers: Record<string, string> = { "Content-Type": MediaType.OciIndex };
  if (filter !== null) headers["OCI-Filters-Applied"] = "artifactType";
  send(ex.res, 200, headers, JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
}
