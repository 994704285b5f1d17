/**
 * Signing and verification of images (sigstore signatures as skopeo 1.9, podman 4.3 and cosign
 * store them; GPG simple signatures), containers-policy.json(5) and registries.d, and in-toto
 * attestations. Uses `src/remote`; the engine and the CLI use it; the registry uses only the
 * pure verification (`verify.ts`, `payload.ts`, `keys.ts`).
 */
export { policyGate, registryImageUnderPolicy, type TrustConfig, trustConfig } from "./admission.js";
export { readAttachedSignatures, readReferrerSignatures } from "./attachments.js";
export { TrustError, type TrustErrorCode } from "./error.js";
export { trustGate } from "./gate.js";
export { generateSigstoreKeyPair, readPublicKey, readPublicKeys, readSigstorePrivateKey } from "./keys.js";
export {
  type AcceptedSignature,
  defaultPolicyPath,
  evaluatePolicy,
  loadPolicy,
  type PolicyDecision,
  parsePolicy,
  type TrustPolicy,
} from "./policy.js";
export { loadRegistriesD } from "./registries-d.js";
export { type SignedManifest, type SignOptions, signImage } from "./sign.js";
export {
  attachmentTag,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type SigstoreSignature,
} from "./signature.js";
