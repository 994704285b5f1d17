/**
 * The engine's image operations, as every API front calls them: list, pull, push, tag, remove
 * (Docker's untag-vs-delete rules and conflicts) and prune, each recording its own event. An
 * image's id is its config digest (the host platform's), as Docker's and `pier image ls`'s; a
 * container records the manifest digest it was created from.
 */
import type { Digest } from "../oci/digest.js";
import { tryParseReference } from "../oci/reference.js";
import type { CopyResult, Credentials, ProgressListener } from "../remote/index.js";
import type { ContainerService } from "./containers/service.js";
import type { ContainerRecord } from "./containers/store.js";
import { EngineError } from "./error.js";
import type { EventLog } from "./events.js";
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
  /** Full names (`docker.io/library/busybox:latest`). */
  names: string[];
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

  /** Every local image, grouped by root digest. */
  async local(): Promise<LocalImage[]> {
    const store = this.service.store;
    const byId = new Map<string, LocalImage>();
    for (const { name, descriptor } of await store.list()) {
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
      entry.names.push(name);
    }
    return [...byId.values()];
  }

  /** Finds `ref` (name, id or id prefix) among the local images: `IMAGE_NOT_FOUND` otherwise. */
  async find(ref: string): Promise<{ image: LocalImage; byName: string | undefined }> {
    let found: Awaited<ReturnType<ImageService["store"]["find"]>>;
    try {
      found = await this.service.store.find(ref);
    } catch (err) {
      if ((err as { code?: string }).code === "AMBIGUOUS_REFERENCE") throw err;
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

  /** Pulls `ref` into the store and records `pull`; `credentials` are the client's (`X-Registry-Auth`). */
  async pull(ref: string, onProgress?: ProgressListener, credentials?: Credentials): Promise<CopyResult> {
    const result = await this.service.pull(ref, onProgress, credentials);
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
    const name = await this.service.tag(ref, target);
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
      records.push({ deleted: image.id });
      this.events.record("image", "delete", image.id, { name: image.id });
      await this.collectIfSafe();
    }
    return records;
  }

  /**
   * Docker's image prune: without `all` only unreachable blobs go (pier keeps no untagged
   * images); with it every image no container uses.
   */
  async prune(all: boolean): Promise<PruneReport<ImageDeletion>> {
    const deleted: ImageDeletion[] = [];
    if (all) {
      const used = new Set(this.containers.list().map((c) => c.imageId));
      for (const image of await this.local()) {
        if (used.has(image.manifest) || used.has(image.root)) continue;
        await this.service.untag(image.names);
        for (const n of image.names) deleted.push({ untagged: familiarName(n) });
        deleted.push({ deleted: image.id });
        this.events.record("image", "delete", image.id, { name: image.id });
      }
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
