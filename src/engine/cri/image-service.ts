/**
 * The CRI's ImageService on the engine's images (one store with pier's and the Docker API's):
 * ListImages, ImageStatus (verbose: the image config), PullImage with the request's
 * credentials, RemoveImage (idempotent) and ImageFsInfo. An image's id is its config digest,
 * as containerd's; `repo_digests` name the root digest under each repository.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { Reference, tryParseReference } from "../../oci/reference.js";
import type { Credentials } from "../../remote/index.js";
import type { Engine } from "../engine.js";
import type { LocalImage } from "../image-operations.js";
import { CriError, isNotFound } from "./error.js";
import { msg, nanos, refuseUnapplied, str } from "./fields.js";
import type { Message, UnaryHandler } from "./grpc.js";
import { PAUSE_IMAGE } from "./pause-image.js";

/** The credentials of a CRI `AuthConfig` (`auth` is base64 `user:password`). Pure. */
export function criCredentials(auth: Message | undefined): Credentials | undefined {
  if (!auth) return undefined;
  refuseUnapplied(
    auth,
    "auth",
    new Set(["auth.username", "auth.password", "auth.auth", "auth.server_address", "auth.identity_token"]),
  );
  const out: Credentials = {};
  const encoded = str(auth, "auth");
  if (encoded) {
    const text = Buffer.from(encoded, "base64").toString("utf8");
    const colon = text.indexOf(":");
    if (colon < 0) throw new CriError("INVALID_ARGUMENT", "auth.auth: not base64 of user:password");
    out.username = text.slice(0, colon);
    out.password = text.slice(colon + 1);
  }
  if (str(auth, "username")) out.username = str(auth, "username");
  if (str(auth, "password")) out.password = str(auth, "password");
  if (str(auth, "identity_token")) out.identityToken = str(auth, "identity_token");
  return Object.keys(out).length ? out : undefined;
}

/** The image a request's `ImageSpec` names; `INVALID_ARGUMENT` when none. Pure. */
function imageRef(spec: Message | undefined, field: string): string {
  const ref = str(spec, "image");
  if (!ref) throw new CriError("INVALID_ARGUMENT", `${field}.image is required`);
  if (str(spec, "runtime_handler"))
    throw new CriError("INVALID_ARGUMENT", `${field}.runtime_handler: pier has only the default handler`);
  return ref;
}

/** The CRI's ImageService handlers on `engine`. */
export function imageService(engine: Engine): Record<string, UnaryHandler> {
  const images = engine.images;

  /** The local image `ref` names, or undefined. */
  const lookup = async (ref: string): Promise<LocalImage | undefined> => {
    try {
      return (await images.find(ref)).image;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  const toMessage = async (image: LocalImage, sizes: Map<string, number>): Promise<Message> => {
    const resolved = await images.service.store
      .resolveImage(image.names[0] ?? image.root)
      .catch(() => undefined);
    const user = resolved?.config.config?.User ?? "";
    const uid = /^\d+/.exec(user)?.[0];
    const repos = new Set<string>();
    for (const n of image.names) {
      const r = tryParseReference(n);
      if (r) repos.add(new Reference(r.registry, r.repository).toString());
    }
    return {
      id: image.id,
      repo_tags: image.names.filter((n) => !n.includes("@")),
      repo_digests: [...repos].map((r) => `${r}@${image.root}`),
      size: String(Math.max(...image.names.map((n) => sizes.get(n) ?? 0), 0)),
      ...(uid !== undefined ? { uid: { value: uid } } : user ? { username: user.split(":")[0] } : {}),
      spec: { image: image.id },
      pinned: image.names.includes(PAUSE_IMAGE),
    };
  };

  const sizes = async () => new Map((await images.list()).map((row) => [row.name, row.size] as const));

  return {
    async ListImages(req) {
      const wanted = str(msg(msg(req, "filter"), "image"), "image");
      const all = wanted ? [await lookup(wanted)].filter((i): i is LocalImage => !!i) : await images.local();
      const s = await sizes();
      return { images: await Promise.all(all.map((i) => toMessage(i, s))) };
    },

    async ImageStatus(req) {
      // An absent image is no error: the response has no image (the kubelet pulls then).
      const image = await lookup(imageRef(msg(req, "image"), "image"));
      if (!image) return {};
      const out: Message = { image: await toMessage(image, await sizes()) };
      if (req.verbose === true) {
        const resolved = await images.service.store.resolveImage(image.names[0] ?? image.root);
        out.info = {
          info: JSON.stringify({ imageSpec: resolved.config, manifest: resolved.descriptor.digest }),
        };
      }
      return out;
    },

    async PullImage(req) {
      const spec = msg(req, "image");
      const ref = imageRef(spec, "image");
      const credentials = criCredentials(msg(req, "auth"));
      const parsed = tryParseReference(ref);
      if (!parsed)
        throw new CriError(
          "INVALID_ARGUMENT",
          `image.image ${JSON.stringify(ref)}: invalid reference format`,
        );
      await images.pull(parsed.toString(), undefined, credentials);
      const image = await lookup(parsed.toString());
      if (!image) throw new CriError("NOT_FOUND", `${ref}: pulled but not found in the store`);
      return { image_ref: image.id };
    },

    async RemoveImage(req) {
      const image = await lookup(imageRef(msg(req, "image"), "image"));
      if (!image) return {};
      // Every name goes, as containerd removes an image (a running container still refuses it).
      await images.remove(image.id, true);
      return {};
    },

    async ImageFsInfo() {
      const dir = join(images.service.store.root, "content");
      let used = 0;
      let inodes = 0;
      const walk = async (d: string, depth: number): Promise<void> => {
        for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
          inodes++;
          const p = join(d, e.name);
          if (e.isDirectory() && depth < 4) await walk(p, depth + 1);
          else if (e.isFile()) used += (await stat(p).catch(() => ({ size: 0 }))).size;
        }
      };
      await walk(dir, 0);
      return {
        image_filesystems: [
          {
            timestamp: nanos(new Date().toISOString()),
            fs_id: { mountpoint: dir },
            used_bytes: { value: String(used) },
            inodes_used: { value: String(inodes) },
          },
        ],
      };
    },
  };
}
