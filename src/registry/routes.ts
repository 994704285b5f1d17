/**
 * The URL grammar of distribution-spec's endpoints table (`end-1` … `end-13`), as a pure function
 * from a request path to a route. Names may contain `/`, so routes are matched on the path's tail.
 */

/** What a request path addresses. `name` is not yet checked against the name grammar. */
export type Route =
  | { kind: "base" }
  | { kind: "catalog" }
  | { kind: "tags"; name: string }
  | { kind: "manifest"; name: string; reference: string }
  | { kind: "blob"; name: string; digest: string }
  | { kind: "uploadStart"; name: string }
  | { kind: "upload"; name: string; id: string }
  | { kind: "referrers"; name: string; digest: string }
  | { kind: "notFound" };

const NOT_FOUND: Route = { kind: "notFound" };
const BASE: Route = { kind: "base" };
const CATALOG: Route = { kind: "catalog" };

/**
 * Maps a request path (without query string) to a route. Percent-encoded segments are decoded
 * (some clients encode the `:` of a digest); a segment that does not decode, or decodes to
 * something containing `/`, makes the path unroutable rather than a different route.
 */
export function parseRoute(path: string): Route {
  if (!path.startsWith("/v2")) return NOT_FOUND;
  if (path === "/v2/" || path === "/v2") return BASE;
  if (path.charCodeAt(3) !== 47 /* / */) return NOT_FOUND;
  if (path === "/v2/_catalog") return CATALOG;
  const raw = path.slice(4).split("/");
  // Most paths have nothing encoded: their segments are used as they are.
  const seg = path.includes("%") ? decodeSegments(raw) : raw;
  if (seg === undefined) return NOT_FOUND;
  const n = seg.length;
  const nameOf = (drop: number): string => joinName(seg, n - drop);
  if (n >= 3 && seg[n - 2] === "tags" && seg[n - 1] === "list") return { kind: "tags", name: nameOf(2) };
  if (n >= 4 && seg[n - 3] === "blobs" && seg[n - 2] === "uploads") {
    const id = seg[n - 1]!;
    return id === "" ? { kind: "uploadStart", name: nameOf(3) } : { kind: "upload", name: nameOf(3), id };
  }
  if (n >= 3 && seg[n - 2] === "blobs" && seg[n - 1] === "uploads")
    return { kind: "uploadStart", name: nameOf(2) };
  if (n >= 3 && seg[n - 1] !== "") {
    const what = seg[n - 2];
    if (what === "manifests") return { kind: "manifest", name: nameOf(2), reference: seg[n - 1]! };
    if (what === "blobs") return { kind: "blob", name: nameOf(2), digest: seg[n - 1]! };
    if (what === "referrers") return { kind: "referrers", name: nameOf(2), digest: seg[n - 1]! };
  }
  return NOT_FOUND;
}

/** Percent-decoded segments, `undefined` when one does not decode or decodes to something with a `/`. */
function decodeSegments(raw: string[]): string[] | undefined {
  const seg: string[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const s = raw[i]!;
    if (s.includes("%")) {
      let d: string;
      try {
        d = decodeURIComponent(s);
      } catch {
        return undefined;
      }
      if (d.includes("/")) return undefined;
      seg[i] = d;
    } else {
      seg[i] = s;
    }
  }
  return seg;
}

/** The first `count` segments joined by `/` (the repository name). */
function joinName(seg: string[], count: number): string {
  let name = seg[0]!;
  for (let i = 1; i < count; i++) name += `/${seg[i]}`;
  return name;
}
