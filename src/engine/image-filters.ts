/**
 * `docker images --filter` (moby's image list rules) over the engine's images: `dangling`,
 * `label`/`label!`, `before`/`since` (another image, by name or id), `reference` (a shell
 * pattern on the familiar name, with or without tag: only matching names are shown), `until`.
 */
import { tryParseReference } from "../oci/reference.js";
import {
  boolFilter,
  checkFilters,
  createdBy,
  type Filters,
  labelsPass,
  pathMatch,
  untilMs,
} from "./filters.js";
import type { ImageDetails } from "./image-operations.js";

/** One row of the filtered list: the image and the names it shows (familiar, matching `reference`). */
export interface ImageListEntry {
  details: ImageDetails;
  /** Familiar names (`busybox:latest`); empty for a dangling image. */
  tags: string[];
}

function familiarForms(name: string): string[] {
  const ref = tryParseReference(name);
  if (!ref) return [name];
  const familiar = ref.familiar();
  const bare = familiar.replace(/[:@][^/]*$/, "");
  return [familiar, bare];
}

function createdMs(d: ImageDetails): number {
  return d.created ? Date.parse(d.created) : Number.NaN;
}

/**
 * The images of `all` that pass `filters`, each with the names it shows. `find` looks up the
 * image a `before`/`since` names (rejecting as `IMAGE_NOT_FOUND`). Filters are checked before
 * anything is looked up.
 */
export async function filterImages(
  all: readonly ImageDetails[],
  filters: Filters,
  find: (ref: string) => Promise<ImageDetails>,
  nowMs = Date.now(),
): Promise<ImageListEntry[]> {
  checkFilters(filters, "imageList");
  const dangling = boolFilter(filters, "dangling");
  const until = untilMs(filters, nowMs);
  const before = await Promise.all((filters.before ?? []).map(async (r) => createdMs(await find(r))));
  const since = await Promise.all((filters.since ?? []).map(async (r) => createdMs(await find(r))));
  const patterns = filters.reference ?? [];
  const out: ImageListEntry[] = [];
  for (const d of all) {
    const isDangling = d.image.names.length === 0;
    if (dangling !== undefined && isDangling !== dangling) continue;
    if (!labelsPass(filters, d.labels) || !createdBy(d.created, until)) continue;
    const t = createdMs(d);
    if (before.some((b) => !(t < b)) || since.some((s) => !(t > s))) continue;
    let tags = d.image.names.map((n) => familiarForms(n)[0]!);
    if (patterns.length) {
      tags = d.image.names
        .filter((n) => patterns.some((p) => familiarForms(n).some((f) => pathMatch(p, f))))
        .map((n) => familiarForms(n)[0]!);
      if (!tags.length) continue;
    }
    out.push({ details: d, tags });
  }
  return out;
}
