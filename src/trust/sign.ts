/**
 * Signing an image in a registry with a sigstore key: the simple-signing payload (the manifest
 * digest under the reference's name), signed with ECDSA/SHA-256 (or the key's own scheme),
 * stored as a sigstore attachment — and as an OCI 1.1 referrer when asked.
 */
import { type KeyObject, sign } from "node:crypto";
import type { Digest } from "../oci/digest.js";
import { isIndexMediaType } from "../oci/media-types.js";
import { parseReference, type Reference, toReference } from "../oci/reference.js";
import type { ImageIndex } from "../oci/types.js";
import { clientFor, type RegistryClient, RemoteError, type RemoteOptions } from "../remote/index.js";
import { writeAttachedSignature, writeReferrerSignature } from "./attachments.js";
import { TrustError } from "./error.js";
import { makePayload, SIGSTORE_PAYLOAD_TYPE } from "./payload.js";
import { SIGNATURE_ANNOTATION, type SigstoreSignature } from "./signature.js";

/** Options of {@link signImage}. */
export interface SignOptions extends RemoteOptions {
  /** The private key (from {@link readSigstorePrivateKey}). */
  key: KeyObject;
  /** Also store each signature as an OCI 1.1 referrer of the signed manifest. */
  referrers?: boolean;
  /** For an index, also sign every manifest it lists. */
  recursive?: boolean;
  /** The identity to sign (`--sign-identity`); default the reference itself. */
  identity?: string;
  /** `optional.creator` of the payload. */
  creator?: string;
}

/** One signature written. */
export interface SignedManifest {
  digest: Digest;
  identity: string;
  /** The referrer manifest's digest, when `referrers` was asked. */
  referrer?: Digest;
}

/** Signs the manifest `ref` names (and, with `recursive`, an index's children). */
export async function signImage(ref: string | Reference, opts: SignOptions): Promise<SignedManifest[]> {
  const r = toReference(ref);
  const identity = opts.identity ?? r.toString();
  if (opts.identity !== undefined) {
    const parsed = parseReference(opts.identity, { defaultTag: false });
    if (parsed.tag === undefined && parsed.digest === undefined) {
      throw new TrustError("UNSUPPORTED", `--sign-identity ${opts.identity}: must name a tag or a digest`);
    }
  }
  const client = clientFor(r.registry, opts);
  try {
    // HEAD, not GET: a registry that serves only signed images still tells what to sign.
    const root = await client.headManifest(r.repository, r.identifier);
    if (!root) throw new RemoteError("NOT_FOUND", `${r.toString()}: no such manifest to sign`);
    const out: SignedManifest[] = [await signOne(client, r, root, identity, opts)];
    if (opts.recursive && isIndexMediaType(root.mediaType)) {
      const index = JSON.parse(
        (await client.getManifest(r.repository, root.digest)).bytes.toString("utf8"),
      ) as ImageIndex;
      for (const m of index.manifests) out.push(await signOne(client, r, m, identity, opts));
    }
    return out;
  } finally {
    await client.close();
  }
}

async function signOne(
  client: RegistryClient,
  ref: Reference,
  target: { digest: Digest; mediaType: string; size: number },
  identity: string,
  opts: SignOptions,
): Promise<SignedManifest> {
  const sig = makeSigstoreSignature(target.digest, identity, opts.key, opts.creator);
  await writeAttachedSignature(client, ref.repository, target.digest, sig);
  const out: SignedManifest = { digest: target.digest, identity };
  if (opts.referrers) out.referrer = await writeReferrerSignature(client, ref.repository, target, sig);
  return out;
}

/** A sigstore signature of `digest` under `identity`, as c/image makes it. */
export function makeSigstoreSignature(
  digest: Digest,
  identity: string,
  key: KeyObject,
  creator = "pier",
): SigstoreSignature {
  const payload = makePayload(SIGSTORE_PAYLOAD_TYPE, digest, identity, {
    creator,
    timestamp: Math.floor(Date.now() / 1000),
  });
  const raw = sign(key.asymmetricKeyType === "ed25519" ? null : "sha256", payload, key);
  return { payload, annotations: { [SIGNATURE_ANNOTATION]: raw.toString("base64") } };
}
