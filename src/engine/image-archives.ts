/**
 * Image history and docker archives through the engine: `docker history` (the config's history
 * with the layer each non-empty step made), `docker save` (pier's docker-archive export,
 * streamed) and `docker load` (the upload spooled and bounded, then pier's archive import, which
 * names all of an archive's images at once or none and removes the blobs of a failed import).
 */
import type { Readable, Writable } from "node:stream";
import { exportDockerArchive } from "../image/archive/docker-archive.js";
import { importArchive } from "../image/archive/import-archive.js";
import type { ImageConfig, ImageManifest } from "../oci/types.js";
import type { ContainerService } from "./containers/service.js";
import { EngineError } from "./error.js";
import type { EventLog } from "./events.js";
import { familiarName, type ImageOperations } from "./image-operations.js";
import { MAX_UPLOAD_BYTES, spoolUpload, withScratch } from "./uploads.js";

/** One row of Docker's `GET /images/{name}/history`. */
export interface HistoryRow {
  Id: string;
  /** Unix seconds. */
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/**
 * Docker's history rows of an image, newest first: one per history entry (one per layer when
 * the config has none), the size of the layer a non-empty step made (as stored), the image id
 * and names on the newest row and `<missing>` on the others, as Docker shows pulled images. Pure.
 */
export function historyRows(
  id: string,
  tags: readonly string[],
  config: ImageConfig,
  manifest: ImageManifest,
): HistoryRow[] {
  const history = config.history?.length
    ? config.history
    : manifest.layers.map(() => ({ created: config.created, created_by: "" }));
  let layer = 0;
  const rows = history.map((h) => {
    const empty = "empty_layer" in h && h.empty_layer === true;
    const size = empty ? 0 : (manifest.layers[layer++]?.size ?? 0);
    return {
      Id: "<missing>",
      Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
      CreatedBy: h.created_by ?? "",
      Tags: null as string[] | null,
      Size: size,
      Comment: ("comment" in h ? h.comment : undefined) ?? "",
    };
  });
  rows.reverse();
  if (rows[0]) {
    rows[0].Id = id;
    rows[0].Tags = tags.length ? [...tags] : null;
  }
  return rows;
}

/** History, save and load. */
export class ImageArchives {
  constructor(
    private readonly images: ImageOperations,
    private readonly containers: ContainerService,
    private readonly events: EventLog,
  ) {}

  /** `GET /images/{name}/history`. */
  async history(ref: string): Promise<HistoryRow[]> {
    const { image } = await this.images.find(ref);
    const img = await this.images.service.resolve(image.names[0] ?? image.root);
    return historyRows(image.id, image.names.map(familiarName), img.config, img.manifest);
  }

  /**
   * The full names `docker save` exports for `refs` (a name, or an id standing for all its
   * names); `IMAGE_NOT_FOUND` for the first unknown one, before anything is written.
   */
  async saveNames(refs: readonly string[]): Promise<string[]> {
    if (!refs.length) throw new EngineError("INVALID_ARGUMENT", "no image names given to save");
    const names: string[] = [];
    for (const ref of refs) {
      const { image, byName } = await this.images.find(ref);
      for (const n of byName !== undefined ? [byName] : image.names) if (!names.includes(n)) names.push(n);
    }
    return names;
  }

  /** `GET /images/get`: a docker archive of `names` (from {@link saveNames}) written to `out`. */
  async save(names: readonly string[], out: Writable): Promise<void> {
    const store = this.images.service.store;
    await exportDockerArchive(store.content, store.layout, names, out);
    for (const n of names) this.events.record("image", "save", n, { name: familiarName(n) });
  }

  /**
   * `POST /images/load`: imports a docker or OCI archive (at most {@link MAX_UPLOAD_BYTES});
   * resolves with the names loaded (an unnamed image by its id). Nothing is named when the
   * archive is bad.
   */
  async load(body: Readable): Promise<string[]> {
    const store = this.images.service.store;
    const imported = await withScratch(this.containers, async (dir) => {
      const { path } = await spoolUpload(body, dir, "load.tar", MAX_UPLOAD_BYTES, "image archive");
      try {
        return await importArchive(path, store.content, store.layout);
      } catch (err) {
        throw new EngineError("INVALID_ARGUMENT", `loading the archive: ${(err as Error).message}`, {
          cause: err,
        });
      }
    });
    const loaded: string[] = [];
    for (const img of imported.images) {
      const name = img.name ?? img.descriptor.digest;
      loaded.push(name);
      this.events.record("image", "load", name, { name: familiarName(name) });
    }
    return loaded;
  }
}
