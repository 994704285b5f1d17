/**
 * Image references as the registry client uses them: the shape of `src/oci/reference.ts`'s
 * `Reference` (which parses and normalises), seen through a plain interface so that callers may
 * also pass object literals.
 */
import type { Digest } from "../oci/digest.js";
import { parseReference } from "../oci/reference.js";

/** A parsed image reference. */
export interface ImageRef {
  /** Registry host[:port]; `docker.io` for Docker Hub. */
  readonly registry: string;
  /** Repository path, e.g. `library/busybox`. */
  readonly repository: string;
  readonly tag?: string | undefined;
  readonly digest?: Digest | undefined;
}

/** Parses a reference as `docker pull` does; throws `OciError` `INVALID_REFERENCE`. */
export function parseImageRef(input: string): ImageRef {
  return parseReference(input);
}

/** The reference as a string, `registry/repo[:tag][@digest]` (the store's name for it). */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** What to ask the registry for: the digest when pinned, else the tag. */
export function refIdentifier(ref: ImageRef): string {
  return ref.digest ?? ref.tag ?? "latest";
}
