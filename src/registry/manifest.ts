import type { Digest } from "../oci/digest.js";
import { isIndexMediaType, isManifestMediaType, MediaType } from "../oci/media-types.js";
import { RegistryError } from "./errors.js";
import { requestDigest } from "./names.js";

/** What the registry needs to know of a pushed manifest: its type and what it points at. */
export interface ManifestFacts {
  /** The manifest's media type (from its body, else `Content-Type`, else its shape). */
  mediaType: string;
  /** Blobs the manifest references (config and layers), which must be in the repository. */
  blobs: Digest[];
  /** Child manifests an index lists, which must be in the repository. */
  children: Digest[];
  /** The `subject` digest, when present (the referrers API lists this manifest under it). */
  subject?: Digest;
  /** The referrers-API artifact type: `artifactType`, else a manifest's config media type. */
  artifactType?: string;
  /** The manifest's annotations, carried into its referrers descriptor. */
  annotations?: Record<string, string>;
}

const invalid = (message: string): RegistryError => new RegistryError("MANIFEST_INVALID", message);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function descriptorDigest(v: unknown, where: string): Digest {
  if (!isObject(v)) throw invalid(`${where}: not a descriptor object`);
  if (typeof v.mediaType !== "string" || v.mediaType === "")
    throw invalid(`${where}.mediaType: must be a string`);
  if (typeof v.size !== "number" || !Number.isSafeInteger(v.size) || v.size < 0) {
    throw invalid(`${where}.size: must be a non-negative integer`);
  }
  if (typeof v.digest !== "string") throw invalid(`${where}.digest: must be a string`);
  try {
    return requestDigest(v.digest, `${where}.digest`);
  } catch (err) {
    throw invalid((err as Error).message);
  }
}

function annotationsOf(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw invalid(`${where}: must be an object of strings`);
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== "string") throw invalid(`${where}.${k}: must be a string`);
  }
  return v as Record<string, string>;
}

/**
 * Validates a pushed manifest body and extracts its facts. Accepts OCI image manifests and
 * indexes and Docker schema 2 manifests and manifest lists; anything else, malformed JSON, a
 * missing or malformed descriptor, or a body `mediaType` that contradicts `Content-Type` is
 * `MANIFEST_INVALID`. Pure: no I/O.
 */
export function inspectManifest(body: Buffer, contentType: string | undefined): ManifestFacts {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw invalid(`manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw invalid("manifest must be a JSON object");
  if (doc.schemaVersion !== 2) throw invalid("manifest schemaVersion must be 2");
  const header = contentType?.split(";")[0]?.trim();
  const declared = doc.mediaType;
  if (declared !== undefined && typeof declared !== "string")
    throw invalid("manifest mediaType must be a string");
  if (declared !== undefined && header && header !== declared) {
    throw invalid(`manifest mediaType ${declared} does not match Content-Type ${header}`);
  }
  let mediaType = declared ?? header;
  if (mediaType === undefined || mediaType === "" || mediaType === "application/json") {
    mediaType = "manifests" in doc ? MediaType.OciIndex : MediaType.OciManifest;
  }
  const facts: ManifestFacts = { mediaType, blobs: [], children: [] };
  if (doc.artifactType !== undefined) {
    if (typeof doc.artifactType !== "string") throw invalid("artifactType must be a string");
    facts.artifactType = doc.artifactType;
  }
  const annotations = annotationsOf(doc.annotations, "annotations");
  if (annotations) facts.annotations = annotations;
  if (doc.subject !== undefined) facts.subject = descriptorDigest(doc.subject, "subject");
  if (isManifestMediaType(mediaType)) {
    if ("manifests" in doc) throw invalid(`an image manifest (${mediaType}) has no manifests field`);
    facts.blobs.push(descriptorDigest(doc.config, "config"));
    if (!Array.isArray(doc.layers)) throw invalid("layers: must be an array");
    doc.layers.forEach((layer, i) => {
      const digest = descriptorDigest(layer, `layers[${i}]`);
      // Foreign (non-distributable) layers with URLs live elsewhere, as distribution allows.
      if (!(isObject(layer) && Array.isArray(layer.urls) && layer.urls.length > 0)) facts.blobs.push(digest);
    });
    if (facts.artifactType === undefined)
      facts.artifactType = (doc.config as { mediaType: string }).mediaType;
  } else if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalid("manifests: must be an array");
    doc.manifests.forEach((m, i) => {
      facts.children.push(descriptorDigest(m, `manifests[${i}]`));
    });
  } else {
    throw invalid(`unsupported manifest media type ${JSON.stringify(mediaType)}`);
  }
  return facts;
}
