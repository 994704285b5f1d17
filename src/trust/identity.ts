/**
 * `signedIdentity` of containers-policy.json(5): does the docker reference a signature claims
 * match the reference the image is being pulled by? Pure.
 */
import { type Reference, tryParseReference } from "../oci/reference.js";
import { TrustError } from "./error.js";

/** One `signedIdentity` rule. */
export type SignedIdentity =
  | { type: "matchExact" }
  | { type: "matchRepoDigestOrExact" }
  | { type: "matchRepository" }
  | { type: "exactReference"; dockerReference: string }
  | { type: "exactRepository"; dockerRepository: string }
  | { type: "remapIdentity"; prefix: string; signedPrefix: string };

/** Validates a policy's `signedIdentity` object; throws `INVALID_POLICY` naming the field. */
export function parseSignedIdentity(v: unknown, where: string): SignedIdentity {
  const bad = (why: string): never => {
    throw new TrustError("INVALID_POLICY", `${where}.signedIdentity: ${why}`);
  };
  if (typeof v !== "object" || v === null || Array.isArray(v)) return bad("must be an object");
  const o = v as Record<string, unknown>;
  const only = (fields: string[]) => {
    for (const k of Object.keys(o)) if (!fields.includes(k)) bad(`unknown field ${JSON.stringify(k)}`);
  };
  const str = (f: string): string => {
    const s = o[f];
    if (typeof s !== "string" || s === "") bad(`${f} must be a non-empty string`);
    return s as string;
  };
  switch (o["type"]) {
    case "matchExact":
    case "matchRepoDigestOrExact":
    case "matchRepository":
      only(["type"]);
      return { type: o["type"] };
    case "exactReference": {
      only(["type", "dockerReference"]);
      const r = str("dockerReference");
      const parsed = tryParseReference(r, { defaultTag: false });
      if (!parsed || (parsed.tag === undefined && parsed.digest === undefined)) {
        bad(`dockerReference ${JSON.stringify(r)} must be a reference with a tag or digest`);
      }
      return { type: "exactReference", dockerReference: r };
    }
    case "exactRepository": {
      only(["type", "dockerRepository"]);
      const r = str("dockerRepository");
      const parsed = tryParseReference(r, { defaultTag: false });
      if (!parsed || parsed.tag !== undefined || parsed.digest !== undefined) {
        bad(`dockerRepository ${JSON.stringify(r)} must be a repository name`);
      }
      return { type: "exactRepository", dockerRepository: r };
    }
    case "remapIdentity":
      only(["type", "prefix", "signedPrefix"]);
      return { type: "remapIdentity", prefix: str("prefix"), signedPrefix: str("signedPrefix") };
    default:
      return bad(`unknown type ${JSON.stringify(o["type"])}`);
  }
}

/**
 * True when the signature's `signedReference` satisfies `rule` for an image pulled as `image`.
 * An unparsable signed reference never matches.
 */
export function identityMatches(rule: SignedIdentity, image: Reference, signedReference: string): boolean {
  const signed = tryParseReference(signedReference, { defaultTag: false });
  if (!signed) return false;
  switch (rule.type) {
    case "matchExact":
      return exact(image, signed);
    case "matchRepoDigestOrExact":
      return repoDigestOrExact(image, signed);
    case "matchRepository":
      return image.name === signed.name;
    case "exactReference": {
      const want = tryParseReference(rule.dockerReference, { defaultTag: false });
      return want !== undefined && exact(want, signed);
    }
    case "exactRepository": {
      const want = tryParseReference(rule.dockerRepository, { defaultTag: false });
      return want !== undefined && want.name === signed.name;
    }
    case "remapIdentity": {
      const remapped = remap(image, rule.prefix, rule.signedPrefix);
      return remapped !== undefined && repoDigestOrExact(remapped, signed);
    }
  }
}

/** Both tagged (or both by digest) and identical; c/image refuses untagged/undigested forms. */
function exact(a: Reference, b: Reference): boolean {
  if (a.tag === undefined && a.digest === undefined) return false;
  return a.toString() === b.toString();
}

/** By digest: the same repository; otherwise the exact reference. */
function repoDigestOrExact(image: Reference, signed: Reference): boolean {
  if (image.digest !== undefined && image.tag === undefined) return image.name === signed.name;
  return exact(image, signed);
}

/**
 * `remapIdentity`: when the image's reference begins with `prefix` (a whole host, repository or
 * namespace), the same reference with `signedPrefix` in its place; else the image itself.
 */
function remap(image: Reference, prefix: string, signedPrefix: string): Reference | undefined {
  const full = image.toString();
  const boundary = full.length === prefix.length || ["/", ":", "@"].includes(full[prefix.length] ?? "");
  if (!full.startsWith(prefix) || !boundary) return image;
  return tryParseReference(signedPrefix + full.slice(prefix.length), { defaultTag: false });
}
