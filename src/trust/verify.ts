/**
 * Verifying one sigstore signature against public keys and a manifest digest. Pure (no I/O), so
 * the registry's trust check uses it as the client does.
 */
import { type KeyObject, verify } from "node:crypto";
import type { Digest } from "../oci/digest.js";
import { TrustError } from "./error.js";
import { parsePayload, SIGSTORE_PAYLOAD_TYPE, type SignaturePayload } from "./payload.js";
import { SIGNATURE_ANNOTATION, type SigstoreSignature } from "./signature.js";

/** A signature that verified: its payload and the index of the key that made it. */
export interface VerifiedSignature {
  payload: SignaturePayload;
  keyIndex: number;
}

/**
 * Checks `sig` was made by one of `keys` over its payload, and that the payload names
 * `manifestDigest`. Throws `INVALID_SIGNATURE` saying which check failed.
 */
export function verifySigstoreSignature(
  sig: SigstoreSignature,
  keys: readonly KeyObject[],
  manifestDigest: Digest,
): VerifiedSignature {
  const b64 = sig.annotations[SIGNATURE_ANNOTATION];
  if (typeof b64 !== "string" || b64 === "") {
    throw new TrustError("INVALID_SIGNATURE", `no ${SIGNATURE_ANNOTATION} annotation`);
  }
  const raw = Buffer.from(b64, "base64");
  const keyIndex = keys.findIndex((k) => {
    try {
      return verify(k.asymmetricKeyType === "ed25519" ? null : "sha256", sig.payload, k, raw);
    } catch {
      return false;
    }
  });
  if (keyIndex < 0) throw new TrustError("INVALID_SIGNATURE", "not signed by any of the trusted keys");
  const payload = parsePayload(sig.payload, SIGSTORE_PAYLOAD_TYPE);
  if (payload.manifestDigest !== manifestDigest) {
    throw new TrustError(
      "INVALID_SIGNATURE",
      `signed manifest ${payload.manifestDigest} is not this image's ${manifestDigest}`,
    );
  }
  return { payload, keyIndex };
}
