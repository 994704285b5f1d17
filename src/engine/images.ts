/**
 * The engine's image service: pier's image store under `<root>` (an OCI layout at
 * `<root>/content`), pulls through the registry client, and the runtime spec an image implies.
 */

import type { GcResult } from "../content/gc.js";
import { isPierError } from "../errors.js";
import { runtimeConfigFromImage, type UserFiles } from "../image/bundle-config.js";
import { collectGarbage } from "../image/gc.js";
import { ImageStore, type ResolvedImage } from "../image/image-store.js";
import { type ImageListRow, listImages } from "../image/list.js";
import { tryParseReference } from "../oci/reference.js";
import type { Spec } from "../oci/runtime-spec/config.js";
import { defaultRuntimeSpec } from "../oci/runtime-spec/default-spec.js";
import {
  type CopyResult,
  type Credentials,
  clientFor,
  emptyRegistriesConfig,
  type ProgressListener,
  pull,
  push,
  type RegistriesConfig,
} from "../remote/index.js";
import { trustGate } from "../trust/index.js";
import { EngineError } from "./error.js";
import type { LayerSource } from "./snapshots/snapshotter.js";

/** Options of {@link ImageService}. */
export interface ImageServiceOptions {
  /** Registries (host[:port]) spoken to over plain HTTP; loopback ones always are, as Docker does. */
  insecureRegistries?: readonly string[];
  /**
   * containers-policy.json(5) every pull must satisfy (`--signature-policy`, config
   * `signaturePolicy`); default skopeo's and podman's (`~/.config/containers/policy.json`, else
   * `/etc/containers/policy.json`) when it exists. Read at each pull, as podman does.
   */
  signaturePolicy?: string;
  /** registries.d directory saying where signatures live (default skopeo's). */
  registriesDir?: string;
  /** registries.conf (mirrors, rewrites, blocked names) every pull goes through. */
  registries?: RegistriesConfig;
  /** One line per mirror that failed and was passed over. */
  onWarning?: (message: string) => void;
}

/** True for a registry on the loopback interface (Docker treats 127.0.0.0/8 as insecure). Pure. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, "");
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Images as the engine sees them. */
export class ImageService {
  readonly store: ImageStore;
  private readonly trust: Pick<ImageServiceOptions, "signaturePolicy" | "registriesDir">;
  /** Registries spoken to over plain HTTP (`--insecure-registry`). */
  readonly insecure: readonly string[];
  /** The registries configuration; replaced whole by {@link ImageService.setRegistries} (SIGHUP). */
  registries: RegistriesConfig;
  private readonly onWarning: ((message: string) => void) | undefined;

  private constructor(store: ImageStore, opts: ImageServiceOptions) {
    this.store = store;
    this.insecure = opts.insecureRegistries ?? [];
    this.trust = opts;
    this.registries = opts.registries ?? emptyRegistriesConfig();
    this.onWarning = opts.onWarning;
  }

  /** Uses `config` for every pull that starts from now on (pulls under way keep theirs). */
  setRegistries(config: RegistriesConfig): void {
    this.registries = config;
  }

  /** Opens (creating when missing) the store under `root`. */
  static async open(root: string, opts: ImageServiceOptions = {}): Promise<ImageService> {
    return new ImageService(await ImageStore.open(root), opts);
  }

  /**
   * Resolves a local image for the host platform; throws `EngineError` `IMAGE_NOT_FOUND`
   * (Docker's "No such image", which makes clients pull) when the store lacks it.
   */
  async resolve(ref: string): Promise<ResolvedImage> {
    try {
      return await this.store.resolveImage(ref);
    } catch (err) {
      if (isPierError(err, "IMAGE_NOT_FOUND"))
        throw new EngineError("IMAGE_NOT_FOUND", `No such image: ${ref}`, { cause: err });
      throw err;
    }
  }

  /**
   * Pulls `ref` into the store through the configured mirrors (digests verified before anything
   * is visible). Names are normalised as Docker does (a short name is Docker Hub's): the daemon
   * has no terminal to ask on. `credentials` (a CRI request's own) replace those stored for the
   * registry.
   */
  async pull(ref: string, onProgress?: ProgressListener, credentials?: Credentials): Promise<CopyResult> {
    const parsed = tryParseReference(ref);
    if (!parsed) throw new EngineError("INVALID_ARGUMENT", `invalid reference format: ${ref}`);
    // An image the trust policy refuses is not stored: the gate runs before the first write.
    const admit = await trustGate(this.trust.signaturePolicy, this.trust.registriesDir);
    return pull(parsed, {
      storeRoot: this.store.root,
      // loopback registries (mirrors included) speak HTTP, as Docker treats 127.0.0.0/8
      insecure: (h: string) => this.insecureFor(h),
      registries: this.registries,
      ...(this.onWarning ? { onWarning: this.onWarning } : {}),
      ...(admit ? { admit } : {}),
      ...(onProgress ? { onProgress } : {}),
      ...(credentials ? { credentials } : {}),
    });
  }

  /**
   * Checks `credentials` against `registry` as `docker login` asks the daemon to (`GET /v2/`,
   * through its token service when it has one); `UNAUTHORIZED` when the registry refuses them.
   * Nothing is stored: the client keeps its credentials and sends them with each pull and push.
   */
  async login(registry: string, credentials: Credentials): Promise<void> {
    const client = clientFor(registry, { insecure: (h: string) => this.insecureFor(h), credentials });
    try {
      await client.ping();
    } finally {
      await client.close();
    }
  }

  private insecureFor(registry: string): boolean {
    return isLoopbackRegistry(registry) || this.insecure.includes(registry);
  }

  /** Pushes the local image named `ref` to the registry its name says (every platform). */
  async push(ref: string, onProgress?: ProgressListener, credentials?: Credentials): Promise<CopyResult> {
    const parsed = tryParseReference(ref);
    if (!parsed) throw new EngineError("INVALID_ARGUMENT", `invalid reference format: ${ref}`);
    const found = await this.resolve(parsed.toString());
    return push(parsed.toString(), {
      storeRoot: this.store.root,
      localName: found.name ?? parsed.toString(),
      insecure: this.insecureFor(parsed.registry),
      ...(onProgress ? { onProgress } : {}),
      ...(credentials ? { credentials } : {}),
    });
  }

  /** Gives the image `ref` names the further name `target`; resolves with the full new name. */
  async tag(ref: string, target: string): Promise<string> {
    if (!tryParseReference(target))
      throw new EngineError("INVALID_ARGUMENT", `invalid reference format: ${target}`);
    await this.resolve(ref);
    return this.store.tag(ref, target);
  }

  /** Removes the names `names` (blobs stay until {@link ImageService.collect}). */
  async untag(names: readonly string[]): Promise<void> {
    for (const n of names) await this.store.layout.remove(n);
  }

  /** Deletes the blobs no named image reaches. */
  collect(): Promise<GcResult> {
    return collectGarbage(this.store);
  }

  /** Every named image with its size and id. */
  list(): Promise<ImageListRow[]> {
    return listImages(this.store);
  }

  /** The layers of an image as the snapshotter takes them, bottom first. */
  layers(image: ResolvedImage): LayerSource[] {
    const diffIds = image.config.rootfs.diff_ids;
    if (diffIds.length !== image.manifest.layers.length)
      throw new EngineError("INVALID_ARGUMENT", `${image.descriptor.digest}: layers and diff_ids disagree`);
    return image.manifest.layers.map((l, i) => ({
      mediaType: l.mediaType,
      diffId: diffIds[i]!,
      path: this.store.content.blobPath(l.digest),
    }));
  }

  /**
   * The runtime spec for `image`: `runc spec`'s defaults with the image config applied as
   * image-spec `conversion.md` says. `files` are the rootfs's `/etc/passwd` and `/etc/group`
   * for user names.
   */
  runtimeSpec(image: ResolvedImage, files: UserFiles = {}): Spec {
    return runtimeConfigFromImage(image.config, defaultRuntimeSpec(), files);
  }
}
