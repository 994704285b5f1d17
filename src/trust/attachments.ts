/**
 * Where sigstore signatures live in a registry, both forms:
 *
 * - attachments (`use-sigstore-attachments: true`, as skopeo 1.9, podman 4.3 and cosign write
 *   them): an OCI manifest tagged `sha256-<hex>.sig` in the image's repository, one layer per
 *   signature (media type `application/vnd.dev.cosign.simplesigning.v1+json`, the payload as
 *   the blob, the base64 signature in the `dev.cosignproject.cosign/signature` annotation);
 * - OCI 1.1 referrers (on request): the same manifest with `subject` naming the signed manifest
 *   and `artifactType` cosign's signature type, found through the referrers API or its fallback.
 */

import { Readable } from "node:stream";
import { type Digest, digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import type { Descriptor } from "../oci/types.js";
import { type RegistryClient, RemoteError, referrersTag } from "../remote/index.js";
import { TrustError } from "./error.js";
import { MAX_PAYLOAD_BYTES } from "./payload.js";
import {
  attachmentTag,
  MAX_SIGNATURES,
  SIGNATURE_ARTIFACT_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type SigstoreSignature,
} from "./signature.js";

interface SignatureManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** The signatures attached to `digest` in `repo` (none when there is no `.sig` manifest). */
export async function readAttachedSignatures(
  client: RegistryClient,
  repo: string,
  digest: Digest,
): Promise<SigstoreSignature[]> {
  const m = await getOptionalManifest(client, repo, attachmentTag(digest));
  return m ? readSignatureLayers(client, repo, m) : [];
}

/** The signatures among the OCI 1.1 referrers of `digest`. */
export async function readReferrerSignatures(
  client: RegistryClient,
  repo: string,
  digest: Digest,
): Promise<SigstoreSignature[]> {
  const { index } = await client.listReferrers(repo, digest, SIGNATURE_ARTIFACT_TYPE);
  const out: SigstoreSignature[] = [];
  for (const d of index.manifests.slice(0, MAX_SIGNATURES)) {
    const m = await getOptionalManifest(client, repo, d.digest);
    if (m?.subject?.digest === digest) out.push(...(await readSignatureLayers(client, repo, m)));
  }
  return out;
}

async function readSignatureLayers(
  client: RegistryClient,
  repo: string,
  m: SignatureManifest,
): Promise<SigstoreSignature[]> {
  const out: SigstoreSignature[] = [];
  for (const layer of (Array.isArray(m.layers) ? m.layers : []).slice(0, MAX_SIGNATURES)) {
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
    if (!(layer.size >= 0 && layer.size <= MAX_PAYLOAD_BYTES)) {
      throw new TrustError(
        "INVALID_SIGNATURE",
        `signature layer ${layer.digest}: larger than ${MAX_PAYLOAD_BYTES} bytes`,
      );
    }
    const payload = await readSmallBlob(client, repo, layer);
    out.push({ payload, annotations: { ...(layer.annotations ?? {}) } });
  }
  return out;
}

async function readSmallBlob(client: RegistryClient, repo: string, desc: Descriptor): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of client.getBlob(repo, desc)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function getOptionalManifest(
  client: RegistryClient,
  repo: string,
  reference: string,
): Promise<SignatureManifest | undefined> {
  try {
    const m = await client.getManifest(repo, reference, [MediaType.OciManifest]);
    return JSON.parse(m.bytes.toString("utf8")) as SignatureManifest;
  } catch (err) {
    if (err instanceof RemoteError && err.code === "NOT_FOUND") return undefined;
    throw err;
  }
}

const EMPTY_CONFIG = Buffer.from("{}");

/**
 * Adds `sig` to the `.sig` manifest of `digest` (created when absent; a signature already there
 * is not added twice), as c/image's `putSignaturesToSigstoreAttachments` does.
 */
export async function writeAttachedSignature(
  client: RegistryClient,
  repo: string,
  digest: Digest,
  sig: SigstoreSignature,
): Promise<void> {
  const existing = await getOptionalManifest(client, repo, attachmentTag(digest));
  const layers = existing?.layers ?? [];
  let diffIds: string[] = [];
  if (existing) {
    const config = JSON.parse((await readSmallBlob(client, repo, existing.config)).toString("utf8")) as {
      rootfs?: { diff_ids?: string[] };
    };
    diffIds = config.rootfs?.diff_ids ?? [];
  }
  const layer = await uploadPayload(client, repo, sig);
  if (layers.some((l) => sameSignature(l, layer))) return;
  layers.push(layer);
  diffIds.push(layer.digest);
  const config = Buffer.from(
    JSON.stringify({ architecture: "", os: "", config: {}, rootfs: { type: "layers", diff_ids: diffIds } }),
  );
  const configDesc = await uploadBlob(client, repo, config, MediaType.OciConfig);
  const manifest: SignatureManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: configDesc,
    layers,
  };
  await client.putManifest(
    repo,
    attachmentTag(digest),
    Buffer.from(JSON.stringify(manifest)),
    MediaType.OciManifest,
  );
}

/** Stores `sig` as an OCI 1.1 referrer of `subject` (pushed by digest). */
export async function writeReferrerSignature(
  client: RegistryClient,
  repo: string,
  subject: Descriptor,
  sig: SigstoreSignature,
): Promise<Digest> {
  const layer = await uploadPayload(client, repo, sig);
  const config = await uploadBlob(client, repo, EMPTY_CONFIG, MediaType.OciEmpty);
  const manifest: SignatureManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType: SIGNATURE_ARTIFACT_TYPE,
    config,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = digestOf(bytes);
  const res = await client.putManifest(repo, digest, bytes, MediaType.OciManifest);
  if (!res.subjectProcessed) {
    const index = await client.fallbackReferrers(repo, subject.digest);
    if (!index.manifests.some((m) => m.digest === digest)) {
      index.manifests.push({
        mediaType: MediaType.OciManifest,
        digest,
        size: bytes.length,
        artifactType: SIGNATURE_ARTIFACT_TYPE,
      });
      const ib = Buffer.from(JSON.stringify(index));
      await client.putManifest(repo, referrersTag(subject.digest), ib, MediaType.OciIndex);
    }
  }
  return digest;
}

async function uploadPayload(
  client: RegistryClient,
  repo: string,
  sig: SigstoreSignature,
): Promise<Descriptor> {
  const d = await uploadBlob(client, repo, sig.payload, SIMPLE_SIGNING_MEDIA_TYPE);
  return { ...d, annotations: sig.annotations };
}

async function uploadBlob(
  client: RegistryClient,
  repo: string,
  bytes: Buffer,
  mediaType: string,
): Promise<Descriptor> {
  const desc = { mediaType, digest: digestOf(bytes), size: bytes.length };
  await client.putBlob(repo, desc, () => Readable.from([bytes]));
  return desc;
}

function sameSignature(a: Descriptor, b: Descriptor): boolean {
  return (
    a.mediaType === b.mediaType &&
    a.digest === b.digest &&
    JSON.stringify(a.annotations ?? {}) === JSON.stringify(b.annotations ?? {})
  );
}
