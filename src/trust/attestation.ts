/**
 * In-toto attestations as cosign makes them: a statement (`_type` in-toto Statement v0.1, the
 * image digest as `subject`, a `predicateType` and the predicate) in a DSSE envelope signed over
 * DSSE's pre-authentication encoding, stored as an OCI 1.1 referrer of the image (artifact type
 * and layer media type `application/vnd.dsse.envelope.v1+json`).
 */
import { type KeyObject, sign, verify } from "node:crypto";
import { Readable } from "node:stream";
import { type Digest, digestHex, digestOf, parseDigest } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import { type Reference, toReference } from "../oci/reference.js";
import type { Descriptor } from "../oci/types.js";
import {
  clientFor,
  type RegistryClient,
  RemoteError,
  type RemoteOptions,
  referrersTag,
} from "../remote/index.js";
import { TrustError } from "./error.js";
import { MAX_PAYLOAD_BYTES } from "./payload.js";
import { DSSE_MEDIA_TYPE, MAX_SIGNATURES } from "./signature.js";

/** DSSE payload type of an in-toto statement. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/** Annotation naming the predicate type on the envelope layer (cosign's). */
export const PREDICATE_TYPE_ANNOTATION = "predicateType";

/** cosign's `--type` shorthands. */
const PREDICATE_TYPES: Record<string, string> = {
  slsaprovenance: "https://slsa.dev/provenance/v0.2",
  slsaprovenance1: "https://slsa.dev/provenance/v1",
  spdx: "https://spdx.dev/Document",
  spdxjson: "https://spdx.dev/Document",
  cyclonedx: "https://cyclonedx.org/bom",
  link: "https://in-toto.io/Link/v1",
  vuln: "https://cosign.sigstore.dev/attestation/vuln/v1",
  custom: "https://cosign.sigstore.dev/attestation/v1",
};

/** The predicate type URI `--type` names (a shorthand or a URI). Pure. */
export function predicateTypeOf(type: string): string {
  const t = PREDICATE_TYPES[type];
  if (t) return t;
  if (!/^[a-z][a-z0-9+.-]*:/.test(type)) {
    throw new TrustError(
      "UNSUPPORTED",
      `--type ${type}: not one of ${Object.keys(PREDICATE_TYPES).join(", ")} nor a URI`,
    );
  }
  return type;
}

/** DSSE's pre-authentication encoding. Pure. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const t = Buffer.from(payloadType);
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${payload.length} `), payload]);
}

/** An in-toto statement as attested. */
export interface Statement {
  _type: string;
  predicateType: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicate: unknown;
}

/** Options of {@link attestImage}. */
export interface AttestOptions extends RemoteOptions {
  key: KeyObject;
  /** The predicate (parsed JSON). */
  predicate: unknown;
  /** `--type`: shorthand or URI. */
  type: string;
}

/** Signs a statement about the manifest `ref` names and stores it as a referrer; resolves with its digest. */
export async function attestImage(
  ref: string | Reference,
  opts: AttestOptions,
): Promise<{ subject: Digest; attestation: Digest }> {
  const r = toReference(ref);
  const client = clientFor(r.registry, opts);
  try {
    const subject = await client.headManifest(r.repository, r.identifier);
    if (!subject) throw new RemoteError("NOT_FOUND", `${r.toString()}: no such manifest to attest`);
    const predicateType = predicateTypeOf(opts.type);
    const statement: Statement = {
      _type: "https://in-toto.io/Statement/v0.1",
      predicateType,
      subject: [
        { name: r.name, digest: { [parseDigest(subject.digest).algorithm]: digestHex(subject.digest) } },
      ],
      predicate: opts.predicate,
    };
    const payload = Buffer.from(JSON.stringify(statement));
    const sig = sign(
      opts.key.asymmetricKeyType === "ed25519" ? null : "sha256",
      pae(IN_TOTO_PAYLOAD_TYPE, payload),
      opts.key,
    );
    const envelope = Buffer.from(
      JSON.stringify({
        payloadType: IN_TOTO_PAYLOAD_TYPE,
        payload: payload.toString("base64"),
        signatures: [{ keyid: "", sig: sig.toString("base64") }],
      }),
    );
    const layer = {
      ...(await upload(client, r.repository, envelope, DSSE_MEDIA_TYPE)),
      annotations: { [PREDICATE_TYPE_ANNOTATION]: predicateType },
    };
    const config = await upload(client, r.repository, Buffer.from("{}"), MediaType.OciEmpty);
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: DSSE_MEDIA_TYPE,
      config,
      layers: [layer],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations: { [PREDICATE_TYPE_ANNOTATION]: predicateType },
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = digestOf(bytes);
    const res = await client.putManifest(r.repository, digest, bytes, MediaType.OciManifest);
    if (!res.subjectProcessed) {
      const index = await client.fallbackReferrers(r.repository, subject.digest);
      index.manifests.push({
        mediaType: MediaType.OciManifest,
        digest,
        size: bytes.length,
        artifactType: DSSE_MEDIA_TYPE,
        annotations: manifest.annotations,
      });
      await client.putManifest(
        r.repository,
        referrersTag(subject.digest),
        Buffer.from(JSON.stringify(index)),
        MediaType.OciIndex,
      );
    }
    return { subject: subject.digest, attestation: digest };
  } finally {
    await client.close();
  }
}

async function upload(
  client: RegistryClient,
  repo: string,
  bytes: Buffer,
  mediaType: string,
): Promise<Descriptor> {
  const desc = { mediaType, digest: digestOf(bytes), size: bytes.length };
  await client.putBlob(repo, desc, () => Readable.from([bytes]));
  return desc;
}

/** One attestation that verified. */
export interface VerifiedAttestation {
  digest: Digest;
  statement: Statement;
}

/**
 * The attestations of the manifest `ref` names that verify with one of `keys` and whose subject
 * is that manifest (optionally only of `type`). Throws `NO_SIGNATURE` when none does, naming why
 * each one failed.
 */
export async function verifyAttestations(
  ref: string | Reference,
  keys: readonly KeyObject[],
  opts: RemoteOptions & { type?: string } = {},
): Promise<VerifiedAttestation[]> {
  const r = toReference(ref);
  const want = opts.type === undefined ? undefined : predicateTypeOf(opts.type);
  const client = clientFor(r.registry, opts);
  try {
    const subject = await client.headManifest(r.repository, r.identifier);
    if (!subject) throw new RemoteError("NOT_FOUND", `${r.toString()}: no such manifest`);
    const { index } = await client.listReferrers(r.repository, subject.digest, DSSE_MEDIA_TYPE);
    const out: VerifiedAttestation[] = [];
    const reasons: string[] = [];
    for (const d of index.manifests.slice(0, MAX_SIGNATURES)) {
      try {
        const m = JSON.parse((await client.getManifest(r.repository, d.digest)).bytes.toString("utf8")) as {
          subject?: { digest?: string };
          layers?: Descriptor[];
        };
        if (m.subject?.digest !== subject.digest)
          throw new TrustError("INVALID_SIGNATURE", "its subject is another manifest");
        const layer = m.layers?.find((l) => l.mediaType === DSSE_MEDIA_TYPE);
        if (!layer || !(layer.size <= MAX_PAYLOAD_BYTES))
          throw new TrustError("INVALID_SIGNATURE", "no DSSE envelope layer");
        const chunks: Buffer[] = [];
        for await (const c of client.getBlob(r.repository, layer)) chunks.push(c as Buffer);
        const statement = verifyEnvelope(Buffer.concat(chunks), keys, subject.digest);
        if (want !== undefined && statement.predicateType !== want) continue;
        out.push({ digest: d.digest, statement });
      } catch (err) {
        if (!(err instanceof TrustError)) throw err;
        reasons.push(`${d.digest}: ${err.message}`);
      }
    }
    if (out.length === 0) {
      throw new TrustError(
        "NO_SIGNATURE",
        `${r.toString()}: no attestation${want ? ` of type ${want}` : ""} verifies${reasons.length ? ` (${reasons.join("; ")})` : ""}`,
      );
    }
    return out;
  } finally {
    await client.close();
  }
}

/** Verifies a DSSE envelope's signature and that its statement's subject is `digest`. Pure. */
export function verifyEnvelope(bytes: Buffer, keys: readonly KeyObject[], digest: Digest): Statement {
  let env: { payloadType?: unknown; payload?: unknown; signatures?: { sig?: unknown }[] };
  try {
    env = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new TrustError("INVALID_SIGNATURE", "envelope is not JSON");
  }
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    throw new TrustError("INVALID_SIGNATURE", `payloadType is not ${IN_TOTO_PAYLOAD_TYPE}`);
  if (typeof env.payload !== "string") throw new TrustError("INVALID_SIGNATURE", "envelope has no payload");
  const payload = Buffer.from(env.payload, "base64");
  const signed = pae(IN_TOTO_PAYLOAD_TYPE, payload);
  const ok = (env.signatures ?? []).some(
    (s) =>
      typeof s.sig === "string" &&
      keys.some((k) => {
        try {
          return verify(
            k.asymmetricKeyType === "ed25519" ? null : "sha256",
            signed,
            k,
            Buffer.from(s.sig as string, "base64"),
          );
        } catch {
          return false;
        }
      }),
  );
  if (!ok) throw new TrustError("INVALID_SIGNATURE", "not signed by any of the trusted keys");
  let statement: Statement;
  try {
    statement = JSON.parse(payload.toString("utf8"));
  } catch {
    throw new TrustError("INVALID_SIGNATURE", "statement is not JSON");
  }
  const { algorithm } = parseDigest(digest);
  if (
    !Array.isArray(statement.subject) ||
    !statement.subject.some((s) => s?.digest?.[algorithm] === digestHex(digest))
  ) {
    throw new TrustError("INVALID_SIGNATURE", `statement's subject is not ${digest}`);
  }
  return statement;
}
