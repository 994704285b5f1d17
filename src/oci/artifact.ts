/**
 * Artifacts (image-spec `manifest.md` "Guidelines for Artifact Usage", `artifacts-guidance.md`):
 * the empty descriptor, building an artifact manifest, and the `artifactType` the referrers
 * API reports for a manifest.
 *
 * @example
 * ```ts
 * const sbom = buildArtifactManifest({
 *   artifactType: "application/spdx+json",
 *   layers: [{ mediaType: "application/spdx+json", digest, size }],
 *   subject: imageDescriptor,
 * });
 * ```
 */
import { type Digest, digestOf } from "./digest.js";
import { OciError } from "./error.js";
import { MediaType } from "./media-types.js";
import type { Annotations, Descriptor, ImageIndex, ImageManifest } from "./types.js";
import { isValidMediaType, validateDescriptor } from "./validate.js";

/** The content of the empty blob: the two bytes `{}` (a string, so nobody can mutate it). */
export const EMPTY_JSON = "{}";

/** Digest of {@link EMPTY_JSON}. */
export const EMPTY_DIGEST: Digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/**
 * The empty descriptor of image-spec `manifest.md`: media type `application/vnd.oci.empty.v1+json`,
 * size 2, data embedded (`e30=`). A fresh object each call, so callers may add annotations.
 */
export function emptyDescriptor(): Descriptor {
  return { mediaType: MediaType.OciEmpty, digest: EMPTY_DIGEST, size: 2, data: "e30=" };
}

/** What {@link buildArtifactManifest} needs. */
export interface ArtifactManifestInput {
  /** The artifact's type; required when `config` is the empty descriptor (the default). */
  artifactType?: string;
  /** The blobs; default one empty descriptor, as the guidance says for an artifact with no blobs. */
  layers?: Descriptor[];
  /** An artifact-specific config; default the empty descriptor. */
  config?: Descriptor;
  /** The manifest this artifact refers to (for the referrers API). */
  subject?: Descriptor;
  /** Manifest annotations, e.g. `org.opencontainers.image.created`. */
  annotations?: Annotations;
}

/**
 * An OCI image manifest for an artifact. Enforces what manifest.md requires: `artifactType`
 * set when the config is empty, valid media types, valid descriptors. Throws `INVALID_DOCUMENT`.
 */
export function buildArtifactManifest(input: ArtifactManifestInput): ImageManifest {
  const config = input.config ?? emptyDescriptor();
  if (input.artifactType === undefined && config.mediaType === MediaType.OciEmpty) {
    throw new OciError("INVALID_DOCUMENT", "artifactType: required when config is the empty descriptor");
  }
  if (input.artifactType !== undefined && !isValidMediaType(input.artifactType)) {
    throw new OciError(
      "INVALID_DOCUMENT",
      `artifactType: not a valid media type (RFC 6838): ${JSON.stringify(input.artifactType)}`,
    );
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    ...(input.artifactType !== undefined ? { artifactType: input.artifactType } : {}),
    config: validateDescriptor(config, "config"),
    layers: (input.layers ?? [emptyDescriptor()]).map((d, i) => validateDescriptor(d, `layers[${i}]`)),
  };
  if (input.subject) manifest.subject = validateDescriptor(input.subject, "subject");
  if (input.annotations && Object.keys(input.annotations).length > 0)
    manifest.annotations = { ...input.annotations };
  return manifest;
}

/**
 * The `artifactType` of a manifest or index as the referrers API reports it (distribution-spec):
 * its `artifactType`, else (for a manifest) its `config.mediaType`; `undefined` for an index
 * without one.
 */
export function artifactTypeOf(doc: ImageManifest | ImageIndex): string | undefined {
  if (doc.artifactType !== undefined) return doc.artifactType;
  return "config" in doc ? doc.config.mediaType : undefined;
}

/**
 * The descriptor of a manifest as an entry of a referrers response: media type, digest and
 * size of `raw` (the exact bytes), its `artifactType`, and its annotations.
 */
export function referrerDescriptor(raw: Uint8Array | string, doc: ImageManifest | ImageIndex): Descriptor {
  const artifactType = artifactTypeOf(doc);
  const size = typeof raw === "string" ? Buffer.byteLength(raw) : raw.length;
  return {
    mediaType: doc.mediaType ?? ("config" in doc ? MediaType.OciManifest : MediaType.OciIndex),
    digest: digestOf(raw),
    size,
    ...(artifactType !== undefined ? { artifactType } : {}),
    ...(doc.annotations && Object.keys(doc.annotations).length > 0
      ? { annotations: { ...doc.annotations } }
      : {}),
  };
}
