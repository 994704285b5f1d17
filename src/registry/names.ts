import { isPierError } from "../errors.js";
import { type Digest, parseDigest } from "../oci/digest.js";
import { RegistryError } from "./errors.js";

// distribution-spec "Pulling manifests": <name> and <reference> grammars.
const NAME_GRAMMAR = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_GRAMMAR = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
// Clients prepend a host name; the whole reference must stay under 256 characters.
const MAX_NAME_LENGTH = 255;

/** True when `name` follows the spec's repository name grammar. */
export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_GRAMMAR.test(name);
}

/** Asserts a repository name; throws `NAME_INVALID` naming the offending value. */
export function checkRepositoryName(name: string): string {
  if (!isRepositoryName(name)) {
    throw new RegistryError("NAME_INVALID", `invalid repository name ${JSON.stringify(name)}`, {
      detail: { name },
    });
  }
  return name;
}

/** True when `tag` follows the spec's tag grammar. */
export function isTag(tag: string): boolean {
  return TAG_GRAMMAR.test(tag);
}

/**
 * Parses a digest from a request, mapping the digest layer's errors to `DIGEST_INVALID`
 * (a malformed digest and an unknown algorithm alike, as distribution answers them).
 */
export function requestDigest(value: string | null | undefined, what: string): Digest {
  try {
    parseDigest(value, what);
    return value as Digest;
  } catch (err) {
    if (isPierError(err))
      throw new RegistryError("DIGEST_INVALID", err.message, { detail: { [what]: value } });
    throw err;
  }
}

/** A manifest reference from a URL: a tag or a digest. */
export type ManifestReference = { kind: "tag"; tag: string } | { kind: "digest"; digest: Digest };

/**
 * Classifies a `<reference>` path segment: a digest when it contains `:`, else a tag. Throws
 * `DIGEST_INVALID` for a malformed digest, and `badTag` for a malformed tag (reads answer
 * `MANIFEST_UNKNOWN`, writes `MANIFEST_INVALID`).
 */
export function parseReference(
  reference: string,
  badTag: "MANIFEST_UNKNOWN" | "MANIFEST_INVALID",
): ManifestReference {
  if (reference.includes(":")) return { kind: "digest", digest: requestDigest(reference, "reference") };
  if (!isTag(reference)) {
    throw new RegistryError(badTag, `invalid tag ${JSON.stringify(reference)}`, {
      detail: { tag: reference },
    });
  }
  return { kind: "tag", tag: reference };
}
