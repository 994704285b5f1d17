/**
 * Image references (`registry/repository:tag@digest`), parsed and normalised exactly as the
 * Docker CLI does it (distribution/reference `ParseNormalizedNamed`): `busybox` becomes
 * `docker.io/library/busybox:latest`, `index.docker.io` becomes `docker.io`, and the first
 * path component is a registry only when it contains `.` or `:`, is `localhost`, or has an
 * upper-case letter.
 *
 * @example
 * ```ts
 * const ref = parseReference("busybox");
 * ref.toString();      // "docker.io/library/busybox:latest"
 * ref.familiar();      // "busybox:latest"
 * registryApiHost(ref.registry); // "registry-1.docker.io"
 * ```
 */
import { type Digest, parseDigest } from "./digest.js";
import { OciError } from "./error.js";

/** The registry an unqualified name belongs to. */
export const DEFAULT_REGISTRY = "docker.io";
/** The tag a reference without tag or digest gets. */
export const DEFAULT_TAG = "latest";
/** Docker's old name for the default registry, rewritten to {@link DEFAULT_REGISTRY}. */
const LEGACY_DEFAULT_REGISTRY = "index.docker.io";
/** The namespace of official images on the default registry. */
const OFFICIAL_NAMESPACE = "library";
/** distribution/reference `NameTotalLengthMax`. */
const NAME_MAX = 255;

// The grammar of distribution/reference (regexp.go), piece by piece.
const ALPHANUM = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALPHANUM}(?:${SEPARATOR}${ALPHANUM})*`;
const PATH = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const IPV6 = "\\[(?:[a-fA-F0-9:]+)\\]";
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6})`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const TAG = "[\\w][\\w.-]{0,127}";

const PATH_RE = new RegExp(`^${PATH}$`);
const DOMAIN_RE = new RegExp(`^${DOMAIN}$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const HEX64_RE = /^[a-f0-9]{64}$/;

function invalidRef(input: string, problem: string): never {
  throw new OciError("INVALID_REFERENCE", `invalid reference ${JSON.stringify(input)}: ${problem}`, {
    detail: { reference: input },
  });
}

/**
 * A parsed, normalised image reference. Immutable; `registry` is never empty and, for the
 * default registry, `repository` always has its namespace (`library/busybox`).
 */
export class Reference {
  /** Registry host (with port), e.g. `docker.io`, `localhost:5000`, `[::1]:5000`. */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  readonly repository: string;
  /** Tag, if any. */
  readonly tag: string | undefined;
  /** Manifest digest, if any; when both are set the digest is what identifies the content. */
  readonly digest: Digest | undefined;

  constructor(registry: string, repository: string, tag?: string, digest?: Digest) {
    this.registry = registry;
    this.repository = repository;
    this.tag = tag;
    this.digest = digest;
  }

  /** `registry/repository`, without tag or digest. */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** What goes in `/v2/<name>/manifests/<identifier>`: the digest if set, else the tag. */
  get identifier(): string {
    return this.digest ?? this.tag ?? DEFAULT_TAG;
  }

  /** The fully qualified form, `docker.io/library/busybox:latest`. */
  toString(): string {
    return `${this.name}${this.tag === undefined ? "" : `:${this.tag}`}${this.digest === undefined ? "" : `@${this.digest}`}`;
  }

  /** The short form the Docker CLI prints: `busybox:latest`, `user/app:1`, `ghcr.io/o/r@sha256:…`. */
  familiar(): string {
    let name = this.name;
    if (this.registry === DEFAULT_REGISTRY) {
      name = this.repository;
      const rest = name.slice(OFFICIAL_NAMESPACE.length + 1);
      if (name.startsWith(`${OFFICIAL_NAMESPACE}/`) && !rest.includes("/")) name = rest;
    }
    return `${name}${this.tag === undefined ? "" : `:${this.tag}`}${this.digest === undefined ? "" : `@${this.digest}`}`;
  }

  /** The same repository with another tag (and no digest). Throws `INVALID_REFERENCE` for a bad tag. */
  withTag(tag: string): Reference {
    if (!TAG_RE.test(tag)) invalidRef(`${this.name}:${tag}`, `tag ${JSON.stringify(tag)} must match ${TAG}`);
    return new Reference(this.registry, this.repository, tag, undefined);
  }

  /** The same repository pinned to a digest (the tag is kept for display). */
  withDigest(digest: string): Reference {
    return new Reference(
      this.registry,
      this.repository,
      this.tag,
      checkDigest(digest, `${this.name}@${digest}`),
    );
  }

  /** Plain-object form, for JSON. */
  toJSON(): string {
    return this.toString();
  }
}

function checkDigest(digest: string, input: string): Digest {
  try {
    parseDigest(digest);
  } catch (err) {
    if (err instanceof OciError) invalidRef(input, `digest: ${err.message.replace(/^digest: /, "")}`);
    throw err;
  }
  return digest as Digest;
}

/** Options of {@link parseReference}. */
export interface ParseReferenceOptions {
  /** Add {@link DEFAULT_TAG} when the reference has neither tag nor digest (default true, as `docker pull`). */
  defaultTag?: boolean;
}

/**
 * Parses and normalises a reference the way `docker pull` reads its argument. Throws
 * `OciError` `INVALID_REFERENCE` whose message names the bad part: an upper-case repository,
 * a bad tag, a bad digest, an empty or over-long name, a bare 64-hex id.
 */
export function parseReference(input: string, options: ParseReferenceOptions = {}): Reference {
  if (typeof input !== "string" || input === "")
    invalidRef(String(input), "repository name must have at least one component");
  if (HEX64_RE.test(input))
    invalidRef(input, "cannot specify 64-byte hexadecimal strings as a repository name");

  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = checkDigest(rest.slice(at + 1), input);
    rest = rest.slice(0, at);
  }
  // A tag is after the last ":" that follows the last "/", so a registry port is never a tag.
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) invalidRef(input, `tag ${JSON.stringify(tag)} must match ${TAG}`);
  }

  const [registry, repository] = splitDockerDomain(rest);
  if (!DOMAIN_RE.test(registry))
    invalidRef(input, `registry ${JSON.stringify(registry)} is not a valid host[:port]`);
  if (repository === "" || repository.endsWith("/"))
    invalidRef(input, "repository name must have at least one component");
  if (repository.toLowerCase() !== repository) {
    invalidRef(input, `repository name ${JSON.stringify(repository)} must be lowercase`);
  }
  if (!PATH_RE.test(repository)) {
    invalidRef(
      input,
      `repository name ${JSON.stringify(repository)} must be lowercase components of [a-z0-9] joined by "/" and separated by ".", "_", "__" or "-"`,
    );
  }
  if (registry.length + 1 + repository.length > NAME_MAX) {
    invalidRef(input, `repository name must not be more than ${NAME_MAX} characters`);
  }
  if (tag === undefined && digest === undefined && options.defaultTag !== false) tag = DEFAULT_TAG;
  return new Reference(registry, repository, tag, digest);
}

/** distribution/reference `splitDockerDomain`: which part of a name is the registry. */
function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf("/");
  const first = name.slice(0, slash);
  let registry: string;
  let repository: string;
  if (slash === -1 || (!/[.:]/.test(first) && first !== "localhost" && first.toLowerCase() === first)) {
    registry = DEFAULT_REGISTRY;
    repository = name;
  } else {
    registry = first;
    repository = name.slice(slash + 1);
  }
  if (registry === LEGACY_DEFAULT_REGISTRY) registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !repository.includes("/"))
    repository = `${OFFICIAL_NAMESPACE}/${repository}`;
  return [registry, repository];
}

/**
 * `ref` itself when already parsed, else {@link parseReference} of it: for APIs that take a
 * reference either as text or as a {@link Reference}. Throws `INVALID_REFERENCE`.
 */
export function toReference(ref: string | Reference): Reference {
  return typeof ref === "string" ? parseReference(ref) : ref;
}

/** Like {@link parseReference}, returning `undefined` instead of throwing. */
export function tryParseReference(input: string, options?: ParseReferenceOptions): Reference | undefined {
  try {
    return parseReference(input, options);
  } catch {
    return undefined;
  }
}

/**
 * True when `name` is a valid repository path as the distribution-spec grammar has it
 * (`[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`), at most 255
 * characters. For registry servers checking the `<name>` of a URL.
 */
export function isValidRepositoryName(name: string): boolean {
  return name.length <= NAME_MAX && PATH_RE.test(name);
}

/** True when `tag` matches the tag grammar `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/**
 * The host that serves the registry API for a registry name: `docker.io` is served by
 * `registry-1.docker.io`; every other registry serves itself.
 */
export function registryApiHost(registry: string): string {
  return registry === DEFAULT_REGISTRY || registry === LEGACY_DEFAULT_REGISTRY
    ? "registry-1.docker.io"
    : registry;
}
