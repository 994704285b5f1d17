import type { Digest } from "../../oci/digest.js";
import { digestHex } from "../../oci/digest.js";
import { ArchiveError } from "./error.js";

/** One image of a docker archive's `manifest.json`, as `docker save` and skopeo write it. */
export interface DockerArchiveImage {
  /** Archive path of the config (`<hex>.json` or `blobs/sha256/<hex>`). */
  Config: string;
  /** Names the image had (`repo:tag`); `null` or absent for an untagged image. */
  RepoTags: string[] | null;
  /** Archive paths of the layers, base first. */
  Layers: string[];
}

function invalid(problem: string): never {
  throw new ArchiveError("INVALID_ARCHIVE", `manifest.json: ${problem}`);
}

/** Parses and checks a docker archive's `manifest.json`; errors name the offending field. */
export function parseDockerArchiveManifest(text: string): DockerArchiveImage[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    invalid(`not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(value)) invalid("must be a JSON array of images");
  return value.map((item: unknown, i) => {
    const at = `[${i}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) invalid(`${at} must be an object`);
    const o = item as Record<string, unknown>;
    if (typeof o.Config !== "string" || o.Config === "") invalid(`${at}.Config must be a non-empty string`);
    if (!Array.isArray(o.Layers) || !o.Layers.every((l) => typeof l === "string" && l !== "")) {
      invalid(`${at}.Layers must be an array of paths`);
    }
    const tags = o.RepoTags ?? null;
    if (tags !== null && (!Array.isArray(tags) || !tags.every((t) => typeof t === "string"))) {
      invalid(`${at}.RepoTags must be an array of strings or null`);
    }
    return { Config: o.Config, RepoTags: tags as string[] | null, Layers: o.Layers as string[] };
  });
}

/** What {@link dockerArchiveFiles} needs to know of one image to export. */
export interface DockerExportImage {
  configDigest: Digest;
  diffIds: Digest[];
  repoTags: string[];
}

/** Archive path of a config in the archives pier writes (skopeo's and docker's legacy naming). */
export function configPath(configDigest: Digest): string {
  return `${digestHex(configDigest)}.json`;
}

/** Archive path of an uncompressed layer, named by its diff id. */
export function layerPath(diffId: Digest): string {
  return `${digestHex(diffId)}.tar`;
}

/**
 * The `manifest.json` and `repositories` files of a docker archive holding `images`. Pure.
 * `repositories` maps each repository to its tags' top layer, as `docker save` writes it.
 */
export function dockerArchiveFiles(images: readonly DockerExportImage[]): {
  manifest: string;
  repositories: string;
} {
  const manifest = images.map((img) => ({
    Config: configPath(img.configDigest),
    RepoTags: img.repoTags.length ? img.repoTags : null,
    Layers: img.diffIds.map(layerPath),
  }));
  const repositories: Record<string, Record<string, string>> = {};
  for (const img of images) {
    const top = img.diffIds.at(-1);
    if (!top) continue;
    for (const tag of img.repoTags) {
      const colon = tag.lastIndexOf(":");
      if (colon <= tag.lastIndexOf("/")) continue;
      const repo = tag.slice(0, colon);
      repositories[repo] = { ...repositories[repo], [tag.slice(colon + 1)]: digestHex(top) };
    }
  }
  return { manifest: JSON.stringify(manifest), repositories: JSON.stringify(repositories) };
}
