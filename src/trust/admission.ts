/**
 * The trust policy as a gate in a copy: {@link policyGate} gives `copyImage` an `admit` hook that
 * evaluates the policy for the manifest the source names before anything is written. Used by
 * `pier pull`/`copy`/`run` and by pierd's pulls.
 */
import { dirname } from "node:path";
import type { Digest } from "../oci/digest.js";
import type { Reference } from "../oci/reference.js";
import {
  type FetchedManifest,
  type ImageSource,
  MirroredRegistrySource,
  type RegistryClient,
  RegistryImage,
} from "../remote/index.js";
import { readAttachedSignatures, readReferrerSignatures } from "./attachments.js";
import { readLookasideSignatures } from "./lookaside.js";
import { evaluatePolicy, type ImageUnderPolicy, type PolicyDecision, type TrustPolicy } from "./policy.js";
import { loadRegistriesD, type RegistriesD, storageFor } from "./registries-d.js";
import { dockerScopes } from "./scopes.js";
import type { SigstoreSignature } from "./signature.js";

/** The policy and signature-storage configuration a gate applies. */
export interface TrustConfig {
  policy: TrustPolicy;
  registriesD: RegistriesD;
}

/** Loads a registries.d directory (default: skopeo's) next to an already loaded policy. */
export function trustConfig(policy: TrustPolicy, registriesDir?: string): TrustConfig {
  return { policy, registriesD: loadRegistriesD(registriesDir) };
}

/**
 * The image under policy for a registry image: signatures from sigstore attachments (cosign's
 * and skopeo's `.sig` tag), then OCI 1.1 referrers when there are none, and GPG simple signatures
 * from a `file://` lookaside when registries.d configures one.
 */
export function registryImageUnderPolicy(
  client: RegistryClient,
  ref: Reference,
  manifestDigest: Digest,
  registriesD: RegistriesD,
  /** Where `client` holds the image, when not at `ref` (a mirror's path for it). */
  stored: Reference = ref,
): ImageUnderPolicy {
  const storage = storageFor(registriesD, ref);
  return {
    transport: "docker",
    scopes: dockerScopes(ref),
    reference: ref,
    manifestDigest,
    sigstoreSignatures: async (): Promise<SigstoreSignature[]> => {
      if (storage.useSigstoreAttachments === false) return [];
      const attached = await readAttachedSignatures(client, stored.repository, manifestDigest);
      if (attached.length > 0) return attached;
      return readReferrerSignatures(client, stored.repository, manifestDigest);
    },
    gpgSignatures: async (): Promise<Buffer[]> =>
      storage.lookaside ? readLookasideSignatures(storage.lookaside, ref, manifestDigest) : [],
  };
}

/**
 * The image under policy for any source. Through a mirror, the identity and scopes are the
 * logical reference (the name the user asked for) and the signatures are read where the image
 * was read, as containers/image does.
 */
function imageUnderPolicy(
  src: ImageSource,
  manifestDigest: Digest,
  registriesD: RegistriesD,
): ImageUnderPolicy {
  if (src instanceof RegistryImage)
    return registryImageUnderPolicy(src.client, src.ref, manifestDigest, registriesD);
  if (src instanceof MirroredRegistrySource) {
    const chosen = src.chosenImage;
    const logical = src.resolved;
    if (!chosen || !logical) throw new Error("the policy is checked only after the manifest was read");
    return registryImageUnderPolicy(chosen.client, logical, manifestDigest, registriesD, chosen.ref);
  }
  return localImageUnderPolicy(src, manifestDigest);
}

/** The image under policy for a source that is not a registry (an OCI layout, an archive): no signatures. */
function localImageUnderPolicy(src: ImageSource, manifestDigest: Digest): ImageUnderPolicy {
  const colon = src.name.indexOf(":");
  const transport = src.name.slice(0, colon);
  const path = src.name.slice(colon + 1);
  const scopes = [path];
  for (let d = dirname(path); d !== "/" && d !== "."; d = dirname(d)) scopes.push(d);
  return {
    transport,
    scopes,
    manifestDigest,
    sigstoreSignatures: async () => [],
    gpgSignatures: async () => [],
  };
}

/**
 * An `admit` hook for `copyImage` enforcing `config`. Pier's own store as a source is not
 * checked (what is in it was admitted when it was pulled). `onDecision` hears what admitted it.
 */
export function policyGate(
  config: TrustConfig,
  onDecision?: (decision: PolicyDecision) => void,
): (root: FetchedManifest, src: ImageSource) => Promise<void> {
  return async (root, src) => {
    if (src.name.startsWith("store:")) return;
    const image = imageUnderPolicy(src, root.digest, config.registriesD);
    const decision = await evaluatePolicy(config.policy, image);
    onDecision?.(decision);
  };
}
