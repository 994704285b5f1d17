/**
 * The "simple signing" payload both signature formats carry (containers-signature(5)): what was
 * signed (a manifest digest) under which name (a docker reference). Sigstore signatures use the
 * type `cosign container image signature`, GPG ones `atomic container signature`. Parsing is as
 * strict as containers/image's: exactly the known fields in `critical`.
 */
import { type Digest, parseDigest } from "../oci/digest.js";
import { TrustError } from "./error.js";

/** `critical.type` of a sigstore payload. */
export const SIGSTORE_PAYLOAD_TYPE = "cosign container image signature";
/** `critical.type` of a GPG simple-signing payload. */
export const GPG_PAYLOAD_TYPE = "atomic container signature";
/** Largest payload parsed (c/image reads at most 4 MiB of a signature too). */
export const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

/** A parsed payload: still untrusted until its signature verified. */
export interface SignaturePayload {
  type: string;
  manifestDigest: Digest;
  dockerReference: string;
  creator?: string;
  timestamp?: number;
}

/** The payload bytes for `digest` under `dockerReference`, as c/image marshals them. Pure. */
export function makePayload(
  type: string,
  manifestDigest: Digest,
  dockerReference: string,
  optional: { creator?: string; timestamp?: number } = {},
): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { "docker-reference": dockerReference },
        image: { "docker-manifest-digest": manifestDigest },
        type,
      },
      optional,
    }),
  );
}

/** Parses a payload of the expected `type`; throws `INVALID_SIGNATURE` naming the bad field. */
export function parsePayload(bytes: Uint8Array, type: string): SignaturePayload {
  const bad = (why: string): never => {
    throw new TrustError("INVALID_SIGNATURE", `signature payload: ${why}`);
  };
  if (bytes.length > MAX_PAYLOAD_BYTES) bad(`larger than ${MAX_PAYLOAD_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    bad("not JSON");
  }
  const top = exactObject(doc, ["critical", "optional"], "", bad, ["optional"]);
  const critical = exactObject(top["critical"], ["type", "image", "identity"], "critical", bad);
  if (critical["type"] !== type)
    bad(`critical.type is ${JSON.stringify(critical["type"])}, not ${JSON.stringify(type)}`);
  const image = exactObject(critical["image"], ["docker-manifest-digest"], "critical.image", bad);
  const identity = exactObject(critical["identity"], ["docker-reference"], "critical.identity", bad);
  const digest = image["docker-manifest-digest"];
  try {
    parseDigest(digest);
  } catch {
    bad(`critical.image.docker-manifest-digest ${JSON.stringify(digest)} is not a digest`);
  }
  const ref = identity["docker-reference"];
  if (typeof ref !== "string" || ref === "") bad("critical.identity.docker-reference must be a string");
  const out: SignaturePayload = { type, manifestDigest: digest as Digest, dockerReference: ref as string };
  const optional = top["optional"];
  if (optional !== undefined && optional !== null) {
    if (typeof optional !== "object" || Array.isArray(optional)) bad("optional must be an object");
    const o = optional as Record<string, unknown>;
    if (o["creator"] !== undefined) {
      if (typeof o["creator"] !== "string") bad("optional.creator must be a string");
      out.creator = o["creator"] as string;
    }
    if (o["timestamp"] !== undefined) {
      if (!Number.isSafeInteger(o["timestamp"])) bad("optional.timestamp must be an integer");
      out.timestamp = o["timestamp"] as number;
    }
  }
  return out;
}

function exactObject(
  v: unknown,
  fields: string[],
  where: string,
  bad: (why: string) => never,
  optionalFields: string[] = [],
): Record<string, unknown> {
  const name = where === "" ? "payload" : where;
  if (typeof v !== "object" || v === null || Array.isArray(v)) return bad(`${name} must be an object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!fields.includes(k)) bad(`${name} has unknown field ${JSON.stringify(k)}`);
  for (const f of fields) {
    if (!(f in o) && !optionalFields.includes(f)) bad(`${name} lacks field ${JSON.stringify(f)}`);
  }
  return o;
}
