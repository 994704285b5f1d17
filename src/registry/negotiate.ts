import { isIndexMediaType } from "../oci/media-types.js";

/** What to answer a manifest request with, given the client's `Accept` and the stored type. */
export type Negotiation =
  /** The stored manifest as it is. */
  | { kind: "stored" }
  /** An index the client cannot read: answer with its linux/amd64 child of one of these types. */
  | { kind: "child"; accepted: ReadonlySet<string> }
  /** Nothing the client can read. */
  | { kind: "unacceptable" };

const STORED: Negotiation = { kind: "stored" };
const UNACCEPTABLE: Negotiation = { kind: "unacceptable" };

/** The media types an `Accept` header lists (parameters and quality values ignored). */
export function acceptedTypes(accept: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const header of Array.isArray(accept) ? accept : accept === undefined ? [] : [accept]) {
    for (const part of header.split(",")) {
      const type = part.split(";")[0]!.trim().toLowerCase();
      if (type) out.add(type);
    }
  }
  return out;
}

/**
 * Content negotiation for a manifest fetched by tag, as distribution does it (the spec leaves it
 * open): no `Accept`, a wildcard, `application/json` or the stored type itself gets the stored
 * manifest; a client that cannot read an index (or manifest list) but reads image manifests
 * gets the index's linux/amd64 image; anything else is unacceptable. Pure.
 */
export function negotiate(accept: string | string[] | undefined, stored: string): Negotiation {
  // Fast path for the common request (every client lists the type it pushed or reads).
  if (accept === undefined || (typeof accept === "string" && accept.includes(stored))) return STORED;
  const types = acceptedTypes(accept);
  if (types.size === 0 || types.has(stored) || types.has("*/*") || types.has("application/*")) return STORED;
  if (types.has("application/json")) return STORED;
  if (isIndexMediaType(stored)) {
    const accepted = new Set([...types].filter((t) => !isIndexMediaType(t)));
    if (accepted.size > 0) return { kind: "child", accepted };
  }
  return UNACCEPTABLE;
}
