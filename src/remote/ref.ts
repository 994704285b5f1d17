/**
 * Image references as the registry client needs them (`[registry/]repo[:tag][@digest]`, with
 * Docker Hub normalisation). A local stand-in until `src/oci/reference.ts` lands; the shape is
 * the same so that swapping is a one-line change.
 */
import { type Digest, toDigest } from "../oci/digest.js";
import { RemoteError } from "./error.js";

/** A parsed image reference. */
export interface ImageRef {
  /** Registry host[:port]; `docker.io` for Docker Hub. */
  registry: string;
  /** Repository path, e.g. `library/busybox`. */
  repository: string;
  tag?: string;
  digest?: Digest;
}

const REPO_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Parses a reference; throws `RemoteError` `INVALID_REFERENCE` naming what is wrong. */
export function parseImageRef(input: string): ImageRef {
  let rest = input.trim();
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    try {
      digest = toDigest(rest.slice(at + 1));
    } catch (err) {
      throw new RemoteError("INVALID_REFERENCE", `${input}: ${(err as Error).message}`, { cause: err });
    }
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag))
      throw new RemoteError("INVALID_REFERENCE", `${input}: invalid tag ${JSON.stringify(tag)}`);
  }
  let registry = "docker.io";
  const first = rest.indexOf("/");
  if (first >= 0) {
    const head = rest.slice(0, first);
    if (head.includes(".") || head.includes(":") || head === "localhost" || head !== head.toLowerCase()) {
      registry = head;
      rest = rest.slice(first + 1);
    }
  }
  if (registry === "index.docker.io" || registry === "registry-1.docker.io") registry = "docker.io";
  if (registry === "docker.io" && !rest.includes("/")) rest = `library/${rest}`;
  if (rest === "" || !rest.split("/").every((c) => REPO_COMPONENT.test(c))) {
    throw new RemoteError("INVALID_REFERENCE", `${input}: invalid repository name ${JSON.stringify(rest)}`);
  }
  const ref: ImageRef = { registry, repository: rest };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = "latest";
  return ref;
}

/** The reference as a string, `registry/repo[:tag][@digest]`. */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** What to ask the registry for: the digest when pinned, else the tag. */
export function refIdentifier(ref: ImageRef): string {
  return ref.digest ?? ref.tag ?? "latest";
}
