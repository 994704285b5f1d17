/**
 * The engine's image operations, as every API front calls them: list, pull, push, tag, remove
 * (Docker's untag-vs-delete rules and conflicts) and prune, each recording its own event. An
 * image's id is its config digest (the host platform's), as Docker's and `pier image ls`'s; a
 * container records the manifest digest it was created from.
 */
import type { ResolvedImage } from "../image/image-store.js";
import { imageSize } from "../image/inspect.js";
import type { Digest } from "../oci/digest.js";
import { tryParseReference } from "../oci/reference.js";
import type { Descriptor } from "../oci/types.js";
import type { CopyResult, Credentials, ProgressListener } from "../remote/index.js";
import type { ContainerService } from "./containers/service.js";
import type { ContainerRecord } from "./containers/store.js";
import { danglingRoots, keepingDangling, unpinRoot } from "./dangling-images.js";
import { EngineError } from "./error.js";
import type { EventLog } from "./events.js";
import { boolFilter, checkFilters, createdBy, type Filters, labelsPass, untilMs } from "./filters.js";
import type { ImageService } from "./images.js";
import type { ImageDeletion, PruneReport } from "./reports.js";

/** One local image: every name of one root, and the manifest digest containers record. */
export interface LocalImage {
  /** Config digest of the host platform's image: the image id (the root digest when damaged). */
  id: string;
  /** Root descriptor digest (manifest or index). */
  root: string;
  /** Digest of the host platform's manifest (what `ContainerRecord.imageId` holds). */
  manifest: string;
  /** Full names (`docker.io/library/busybox:latest`); none for a dangling image. */
  names: string[];
}

/** What lists and filters show of a local image: its config's creation time and labels, its size. */
export interface ImageDetails {
  image: LocalImage;
  /** RFC 3339, when the config says. */
  created: string | undefined;
  labels: Record<string, string>;
  size: number;
}

/** What `rmi` does: names to untag, whether the image goes, or the conflict that stops it. */
export type RmiPlan = { untag: string[]; remove: boolean } | { conflict: string; status: "conflict" };

/**
 * Docker's rules for `DELETE /images/{ref}` (moby `image_delete.go`). `byName` is the name the
 * reference matched, when it was a name rather than an id. Untagging one of several names never
 * conflicts; removing the last name or the image conflicts with a container that uses it unless
 * `force`, and with a running one even then; an id with several names needs `force`. Pure.
 */
export function planRmi(
  image: LocalImage,
  byName: string | undefined,
  users: readonly Pick<ContainerRecord, "id" | "status">[],
  force: boolean,
): RmiPlan {
  const short = image.id.replace(/^sha256:/, "").slice(0, 12);
  if (byName !== undefined && image.names.length > 1) return { untag: [byName], remove: false };
  if (byName === undefined && image.names.length > 1 && !force)
    return {
      status: "conflict",
      conflict: `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`,
    };
  const running = users.find((u) => u.status === "running");
  const user = users[0];
  if (user && !force)
    return {
      status: "conflict",
      conflict:
        byName !== undefined
          ? `conflict: unable to remove repository reference "${familiarName(byName)}" (must force) - container ${user.id.slice(0, 12)} is using its referenced image ${short}`
          : `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${user.id.slice(0, 12)}`,
    };
  if (running)
    return {
      status: "conflict",
      conflict: `conflict: unable to delete ${short} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)}`,
    };
  return { untag: byName !== undefined ? [byName] : image.names, remove: true };
}

/** `busybox:latest` for `docker.io/library/busybox:latest`; other text unchanged. Pure. */
export function familiarName(name: string): string {
  return tryParseReference(name)?.familiar() ?? name;
}

/** Images as the engine's fronts operate on them. */
export class ImageOperations {
  /** Config digest by manifest digest (content-addressed: never stale). */
  private readonly configs = new Map<string, string>();

  constructor(
    /** The store and registry client underneath. */
    readonly service: ImageService,
    private readonly containers: ContainerService,
    private readonly events: EventLog,
  ) {}

  /** Every named image with its size and id (one row per name). */
  list() {
    return this.service.list();
  }

  /** Every local image, grouped by root digest; dangling images (no name) last. */
  async local(): Promise<LocalImage[]> {
    const store = this.service.store;
    const byId = new Map<string, LocalImage>();
    const named: { name?: string; descriptor: Descriptor }[] = await store.list();
    const dangling: typeof named = (await danglingRoots(store.layout)).map((descriptor) => ({ descriptor }));
    for (const { name, descriptor } of [...named, ...dangling]) {
      let entry = byId.get(descriptor.digest);
      if (!entry) {
        entry = { id: descriptor.digest, root: descriptor.digest, manifest: descriptor.digest, names: [] };
        try {
          const resolved = await store.resolveDescriptor(descriptor);
          entry.manifest = resolved.descriptor.digest;
          entry.id = resolved.configDigest;
          this.configs.set(entry.manifest, entry.id);
        } catch {
          // A damaged image still has its names to remove.
        }
        byId.set(descriptor.digest, entry);
      }
      if (name !== undefined) entry.names.push(name);
    }
    return [...byId.values()];
  }

  /** The host platform's image of `image`, found by its root digest (so a dangling image is found too). */
  resolve(image: LocalImage): Promise<ResolvedImage> {
    // The media type is not known here: the document's own field decides.
    return this.service.store.resolveDescriptor({
      mediaType: "application/octet-stream",
      digest: image.root as Digest,
      size: 0,
    });
  }

  /** `image` with its config's creation time and labels and its size (zero and none when damaged). */
  async details(image: LocalImage): Promise<ImageDetails> {
    try {
      const img = await this.resolve(image);
      return {
        image,
        created: img.config.created,
        labels: img.config.config?.Labels ?? {},
        size: imageSize(img.descriptor, img.manifest),
      };
    } catch {
      return { image, created: undefined, labels: {}, size: 0 };
    }
  }

  /** Finds `ref` (name, id or id prefix) among the local images: `IMAGE_NOT_FOUND` otherwise. */
  async find(ref: string): Promise<{ image: LocalImage; byName: string | undefined }> {
    let found: Awaited<ReturnType<ImageService["store"]["find"]>>;
    try {
      found = await this.service.store.find(ref);
    } catch (err) {
      if ((err as { code?: string }).code === "AMBIGUOUS_REFERENCE") throw err;
      // A dangling image has only its id (or the root digest) to be found by.
      const hex = ref.replace(/^sha256:/, "");
      const hits = /^[a-f0-9]{4,64}$/.test(hex)
        ? (await this.local()).filter(
            (i) => !i.names.length && (i.id.slice(7).startsWith(hex) || i.root.slice(7).startsWith(hex)),
          )
        : [];
      if (hits.length === 1) return { image: hits[0]!, byName: undefined };
      throw new EngineError("IMAGE_NOT_FOUND", `No such image: ${ref}`, { cause: err });
    }
    const image = (await this.local()).find((i) => i.root === found.descriptor.digest);
    if (!image) throw new EngineError("IMAGE_NOT_FOUND", `No such image: ${ref}`);
    const byName =
      found.name !== undefined && !/^(sha256:)?[a-f0-9]{4,64}$/.test(ref) ? found.name : undefined;
    return { image, byName };
  }

  /** The containers created from `image`. */
  users(image: LocalImage): ContainerRecord[] {
    return this.containers.list().filter((c) => c.imageId === image.manifest || c.imageId === image.root);
  }

  /**
   * The image id (config digest) of the manifest a container was created from; the manifest
   * digest itself when its content is gone.
   */
  async idOf(manifest: string): Promise<string> {
    const known = this.configs.get(manifest);
    if (known) return known;
    try {
      // The media type is not known here: the document's own field decides.
      const resolved = await this.service.store.resolveDescriptor({
        mediaType: "application/octet-stream",
        digest: manifest as Digest,
        size: 0,
      });
      this.configs.set(manifest, resolved.configDigest);
      return resolved.configDigest;
    } catch {
      return manifest;
    }
  }

  /** Pulls `ref` into the store (with `credentials` when given, else the stored ones) and records `pull`. */
  async pull(ref: string, onProgress?: ProgressListener, credentials?: Credentials): Promise<CopyResult> {
    const result = await this.keepingDangling(ref, () => this.service.pull(ref, onProgress, credentials));
    const name = familiarName(ref);
    this.events.record("image", "pull", name, { name });
    return result;
  }

  /** Pushes the local image `ref` to its registry and records `push`; `credentials` as for pull. */
  async push(ref: string, onProgress?: ProgressListener, credentials?: Credentials): Promise<CopyResult> {
    const result = await this.service.push(ref, onProgress, credentials);
    const name = familiarName(ref);
    this.events.record("image", "push", name, { name });
    return result;
  }

  /** Names the image `ref` also `target`, records `tag`; resolves with the full new name. */
  async tag(ref: string, target: string): Promise<string> {
    const name = await this.keepingDangling(target, () => this.service.tag(ref, target));
    this.events.record("image", "tag", (await this.find(name)).image.id, { name: familiarName(name) });
    return name;
  }

  /**
   * Removes (or untags) image `ref` as `docker rmi` does, recording `untag` and `delete`.
   * `IMAGE_NOT_FOUND` or `INVALID_STATE` (a container uses it).
   */
  async remove(ref: string, force: boolean): Promise<ImageDeletion[]> {
    const { image, byName } = await this.find(ref);
    const plan = planRmi(image, byName, this.users(image), force);
    if ("conflict" in plan) throw new EngineError("INVALID_STATE", plan.conflict);
    await this.service.untag(plan.untag);
    const records: ImageDeletion[] = plan.untag.map((n) => ({ untagged: familiarName(n) }));
    for (const n of plan.untag) this.events.record("image", "untag", image.id, { name: familiarName(n) });
    if (plan.remove) {
      await unpinRoot(this.service.store.layout, image.root);
      records.push({ deleted: image.id });
      this.events.record("image", "delete", image.id, { name: image.id });
      await this.collectIfSafe();
    }
    return records;
  }

  /**
   * Runs `move` (a pull or tag onto the name `ref`) keeping the image `ref` named before as a
   * dangling image when it loses its last name, as Docker does.
   */
  private keepingDangling<T>(ref: string, move: () => Promise<T>): Promise<T> {
    const parsed = tryParseReference(ref);
    if (!parsed || parsed.digest !== undefined) return move();
    return keepingDangling(this.service.store.layout, parsed.toString(), move);
  }

  /**
   * Docker's image prune: the dangling images no container uses (with `dangling=false`, every
   * image no container uses) that pass `filters` (`until`, `label`, `label!`), then the blobs
   * nothing reaches any more.
   */
  async prune(filters: Filters = {}): Promise<PruneReport<ImageDeletion>> {
    checkFilters(filters, "imagePrune");
    const danglingOnly = boolFilter(filters, "dangling") ?? true;
    const until = untilMs(filters);
    const deleted: ImageDeletion[] = [];
    const used = new Set(this.containers.list().map((c) => c.imageId));
    for (const image of await this.local()) {
      if (used.has(image.manifest) || used.has(image.root)) continue;
      if (danglingOnly && image.names.length) continue;
      const { created, labels } = await this.details(image);
      if (!createdBy(created, until) || !labelsPass(filters, labels)) continue;
      await this.service.untag(image.names);
      await unpinRoot(this.service.store.layout, image.root);
      for (const n of image.names) deleted.push({ untagged: familiarName(n) });
      deleted.push({ deleted: image.id });
      this.events.record("image", "delete", image.id, { name: image.id });
    }
    return { deleted, spaceReclaimed: await this.collectIfSafe() };
  }

  /** Deletes unreachable blobs unless a container still needs an image no name reaches. */
  private async collectIfSafe(): Promise<number> {
    const named = new Set((await this.local()).map((i) => i.manifest));
    if (this.containers.list().some((c) => !named.has(c.imageId))) return 0;
    return (await this.service.collect()).removedBytes;
  }
}
