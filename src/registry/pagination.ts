import { RegistryError } from "./errors.js";

/** A page request from `?n=&last=`: at most `n` items strictly after `last`. */
export interface PageRequest {
  /** Items wanted; `undefined` when the client did not say (the server's cap applies). */
  n: number | undefined;
  /** Exclusive lower bound, `""` for the start. */
  last: string;
}

/**
 * Reads `n` and `last` from a query string. The spec has no code for a bad `n` (distribution
 * invents `PAGINATION_NUMBER_INVALID`); pier answers a non-numeric or negative `n` with `400`
 * and the closest spec code, `UNSUPPORTED`.
 */
export function parsePageRequest(query: URLSearchParams): PageRequest {
  const rawN = query.get("n");
  let n: number | undefined;
  if (rawN !== null && rawN !== "") {
    if (!/^\d{1,9}$/.test(rawN)) {
      throw new RegistryError(
        "UNSUPPORTED",
        `query parameter n must be a non-negative integer, got ${JSON.stringify(rawN)}`,
        {
          status: 400,
          detail: { n: rawN },
        },
      );
    }
    n = Number(rawN);
  }
  return { n, last: query.get("last") ?? "" };
}

/** The effective page size: the client's `n`, capped at `max`. */
export function pageLimit(req: PageRequest, max: number): number {
  return req.n === undefined ? max : Math.min(req.n, max);
}

/**
 * Cuts one page from `rows`, which the caller fetched with a limit of `limit + 1` so that the
 * extra row tells whether a next page exists. Returns the page and the RFC 5988 `Link` header
 * to the next page (absent on the last page and when `limit` is zero, as the spec requires).
 */
export function cutPage(
  path: string,
  rows: readonly string[],
  limit: number,
): { items: string[]; link?: string } {
  if (limit === 0) return { items: [] };
  if (rows.length <= limit) return { items: rows.slice() };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1]!;
  return { items, link: `<${path}?n=${limit}&last=${encodeURIComponent(last)}>; rel="next"` };
}
