/**
 * What a stored sigstore signature is, independent of where it is read from: the payload layer's
 * media type, the annotation with the signature, cosign's artifact type, and the attachment tag.
 * Pure (no I/O), shared by the client side and the registry's trust check.
 */
import { type Digest, digestHex, parseDigest } from "../oci/digest.js";

/** Media type of a simple-signing payload layer. */
export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
/** The annotation holding the base64 signature. */
export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
/** `artifactType` of a signature in referrers form (cosign's). */
export const SIGNATURE_ARTIFACT_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json";
/** Media type (and artifact type) of a DSSE envelope (in-toto attestations). */
export const DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json";
/** Most signatures read for one image: a bound on what a stranger's registry can make us verify. */
export const MAX_SIGNATURES = 64;

/** One sigstore signature as stored: untrusted until verified. */
export interface SigstoreSignature {
  /** The simple-signing payload bytes (what was signed). */
  payload: Buffer;
  /** The layer's annotations, the signature (base64) among them. */
  annotations: Record<string, string>;
}

/** The attachment tag of a manifest digest: `sha256-<hex>.sig`. Pure. */
export function attachmentTag(digest: Digest): string {
  return `${parseDigest(digest).algorithm}-${digestHex(digest)}.sig`;
}
