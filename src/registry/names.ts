import { isPierError } from "../errors.js";
import { type Digest, parseDigest } from "../oci/digest.js";
// The distribution-spec <name> and <tag> grammars are the ones docker's distribution/reference
// uses for a reference's path and tag, so the server checks URLs with the same functions.
import { isValidRepositoryName, isValidTag } from "../oci/reference.js";
import { RegistryError } from "./errors.js";

/** Asserts a repository name; throws `NAME_INVALID` naming the offending value. */
export function checkRepositoryName(name: string): string {
  if (!isValidRepositoryName(name)) {
    throw new RegistryError("NAME_INVALID", `invalid repository name ${JSON.stringify(name)}`, {
      detail: { name },
    });
  }
  return name;
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
  if (!isValidTag(reference)) {
    throw new RegistryError(badTag, `invalid tag ${JSON.stringify(reference)}`, {
      detail: { tag: reference },
    });
  }
  return { kind: "tag", tag: reference };
}
