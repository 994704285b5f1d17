import { isPierError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import { parseManifestOrIndex } from "../oci/validate.js";
import { RegistryError } from "./errors.js";

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

/**
 * Validates a pushed manifest body (with `src/oci/validate.ts`) and extracts its facts. Accepts
 * OCI image manifests and indexes and Docker schema 2 manifests and manifest lists; anything
 * else — malformed JSON, a missing or malformed descriptor, an unknown media type, a body
 * `mediaType` that contradicts `Content-Type` — is `MANIFEST_INVALID` with the validator's
 * field-path message. Pure: no I/O.
 */
export function inspectManifest(body: Buffer, contentType: string | undefined): ManifestFacts {
  let doc: ReturnType<typeof parseManifestOrIndex>;
  try {
    doc = parseManifestOrIndex(body, contentType);
  } catch (err) {
    if (isPierError(err)) throw new RegistryError("MANIFEST_INVALID", err.message, { cause: err });
    throw err;
  }
  const facts: ManifestFacts = { mediaType: doc.mediaType, blobs: [], children: [] };
  const m = doc.kind === "manifest" ? doc.manifest : doc.index;
  if (m.artifactType !== undefined) facts.artifactType = m.artifactType;
  if (m.annotations !== undefined) facts.annotations = m.annotations;
  if (m.subject !== undefined) facts.subject = m.subject.digest;
  if (doc.kind === "manifest") {
    facts.blobs.push(doc.manifest.config.digest);
    for (const layer of doc.manifest.layers) {
      // Foreign (non-distributable) layers with URLs live elsewhere, as distribution allows.
      if (!(layer.urls && layer.urls.length > 0)) facts.blobs.push(layer.digest);
    }
    facts.artifactType ??= doc.manifest.config.mediaType;
  } else {
    for (const child of doc.index.manifests) facts.children.push(child.digest);
  }
  return facts;
}
