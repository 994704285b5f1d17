/**
 * Dangling images (Docker's `<none>:<none>`): an image whose last name moved to another image
 * (a pull or a tag over it) is kept, as Docker keeps it, as an entry of the store's `index.json`
 * without a ref name. Such an entry is a root like any other (GC keeps its blobs) until `image
 * prune` or `rmi` by id removes it.
 */
import { REF_NAME_ANNOTATION, refNameOf } from "../content/index-refs.js";
import type { OciLayout } from "../content/layout.js";
import type { Descriptor } from "../oci/types.js";

/** Adds an unnamed entry for `root` unless one exists; resolves whether it added one. */
export async function pinRoot(layout: OciLayout, root: Descriptor): Promise<boolean> {
  return layout.update((index) => {
    if (index.manifests.some((m) => m.digest === root.digest && refNameOf(m) === undefined))
      return { index, result: false };
    const { annotations, ...rest } = root;
    const kept = Object.fromEntries(
      Object.entries(annotations ?? {}).filter(([k]) => k !== REF_NAME_ANNOTATION),
    );
    const entry: Descriptor = Object.keys(kept).length ? { ...rest, annotations: kept } : rest;
    return { index: { ...index, manifests: [...index.manifests, entry] }, result: true };
  });
}

/** Removes the unnamed entries of `digest` (its names stay). */
export async function unpinRoot(layout: OciLayout, digest: string): Promise<void> {
  await layout.update((index) => ({
    index: {
      ...index,
      manifests: index.manifests.filter((m) => m.digest !== digest || refNameOf(m) !== undefined),
    },
    result: undefined,
  }));
}

/** The roots of `index.json` that have no name at all (the dangling images). */
export async function danglingRoots(layout: OciLayout): Promise<Descriptor[]> {
  const roots = await layout.roots();
  const named = new Set(roots.filter((m) => refNameOf(m) !== undefined).map((m) => m.digest));
  const seen = new Set<string>();
  return roots.filter((m) => {
    if (refNameOf(m) !== undefined || named.has(m.digest) || seen.has(m.digest)) return false;
    seen.add(m.digest);
    return true;
  });
}

/**
 * Runs `move` (a pull or a tag that may point `name` at another image) keeping the image `name`
 * named before as a dangling image when `move` took its last name. The image is pinned before
 * `move` runs, so no garbage collection in between can take its blobs.
 */
export async function keepingDangling<T>(
  layout: OciLayout,
  name: string,
  move: () => Promise<T>,
): Promise<T> {
  const before = await layout.resolve(name);
  const pinned = before ? await pinRoot(layout, before) : false;
  try {
    return await move();
  } finally {
    if (pinned && before) {
      const stillNamed = (await layout.list()).some((n) => n.descriptor.digest === before.digest);
      if (stillNamed) await unpinRoot(layout, before.digest);
    }
  }
}
