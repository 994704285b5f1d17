import { checkRefName, withRef } from "../../content/index-refs.js";
import type { OciLayout } from "../../content/layout.js";
import type { ContentStore } from "../../content/store.js";
import type { Digest } from "../../oci/digest.js";
import type { Descriptor } from "../../oci/types.js";
import { imageChildren } from "../children.js";
import { ArchiveError } from "./error.js";

/** An image an import put into the layout: the name it got (if any) and its root descriptor. */
export interface ImportedImage {
  name?: string;
  descriptor: Descriptor;
}

/** Options of the archive imports. */
export interface ImportOptions {
  /** Name for the archive's image when the archive names none (refused when it holds several unnamed images). */
  name?: string;
}

/**
 * Gives `name` to the one unnamed image of an import. Pure. Throws `INVALID_ARCHIVE` when
 * several images are unnamed, since one name cannot tell them apart.
 */
export function applyDefaultName(
  images: readonly ImportedImage[],
  name: string | undefined,
): ImportedImage[] {
  if (name === undefined) return [...images];
  const unnamed = images.filter((i) => i.name === undefined);
  if (unnamed.length > 1) {
    throw new ArchiveError(
      "INVALID_ARCHIVE",
      `the archive holds ${unnamed.length} unnamed images; one name (${name}) cannot apply to all`,
    );
  }
  return images.map((i) => (i.name === undefined ? { name, descriptor: i.descriptor } : i));
}

/**
 * Records the blobs an import adds, so that a failed import removes what it added and leaves
 * blobs that were there before alone. A blob ingested without an expected digest cannot be told
 * apart from one already stored, so it is kept: it is unreferenced, and GC removes it.
 */
export class ImportJournal {
  private readonly created: Digest[] = [];
  private readonly store: ContentStore;

  constructor(store: ContentStore) {
    this.store = store;
  }

  /** Ingests `data` as a blob (verified against `expected`), noting it when it is new. */
  async ingest(
    data: AsyncIterable<Uint8Array> | Uint8Array | string,
    expected: { digest?: Digest; size?: number },
  ) {
    const existed = expected.digest === undefined || (await this.store.info(expected.digest)) !== undefined;
    const info = await this.store.ingest(data, expected);
    if (!existed) this.created.push(info.digest);
    return info;
  }

  /** Deletes every blob this import created. */
  async rollback(): Promise<void> {
    for (const d of this.created) await this.store.delete(d).catch(() => false);
  }
}

/**
 * Checks that everything reachable from `roots` is in the store with the size its descriptor
 * claims; throws `MISSING_ENTRY` or `INVALID_ARCHIVE` naming the blob.
 */
export async function checkComplete(store: ContentStore, roots: readonly Descriptor[]): Promise<void> {
  const children = imageChildren(store);
  const seen = new Set<Digest>();
  const queue = [...roots];
  while (queue.length) {
    const d = queue.pop()!;
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    const info = await store.info(d.digest);
    if (!info) {
      throw new ArchiveError("MISSING_ENTRY", `the archive lacks blob ${d.digest} (${d.mediaType})`, {
        detail: { digest: d.digest },
      });
    }
    if (info.size !== d.size) {
      throw new ArchiveError(
        "INVALID_ARCHIVE",
        `blob ${d.digest} is ${info.size} bytes but its descriptor says ${d.size}`,
        {
          detail: { digest: d.digest },
        },
      );
    }
    queue.push(...(await children(d)));
  }
}

/**
 * Records imported images in the layout in one locked update, so that an import is named all at
 * once or not at all: a named image points its name at its descriptor, an unnamed one is added
 * as a root unless an entry already points at it. Invalid names fail before anything is written.
 */
export async function recordImports(layout: OciLayout, images: readonly ImportedImage[]): Promise<void> {
  for (const img of images) if (img.name !== undefined) checkRefName(img.name);
  await layout.update((start) => {
    let index = start;
    for (const img of images) {
      if (img.name !== undefined) index = withRef(index, img.name, img.descriptor);
      else if (!index.manifests.some((m) => m.digest === img.descriptor.digest)) {
        index = { ...index, manifests: [...index.manifests, img.descriptor] };
      }
    }
    return { index, result: undefined };
  });
}
