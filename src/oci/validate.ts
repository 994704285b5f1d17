/**
 * Validation of untrusted JSON into the image-spec types of `types.ts`.
 *
 * Every parse function takes bytes (or a string) as they came off a wire or a disk and either
 * returns a value whose shape the types promise, or throws an {@link OciError} whose message
 * starts with the path of the offending field, e.g.
 * `manifest.layers[2].digest: not a valid digest: "sha256:xyz"`.
 *
 * Unknown fields are kept (the spec says to ignore them, and a copy must not lose them);
 * optional fields set to JSON `null` are treated as absent and dropped, as Go's decoder does.
 *
 * @example
 * ```ts
 * const manifest = parseManifest(await store.readBytes(desc.digest, 4 << 20));
 * for (const layer of manifest.layers) console.log(layer.digest, layer.size);
 * ```
 */
import { digestOf, parseDigest } from "./digest.js";
import { OciError } from "./error.js";
import { isIndexMediaType, isManifestMediaType, MediaType } from "./media-types.js";
import type {
  Descriptor,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  OciLayoutHeader,
  Platform,
} from "./types.js";

/** Bytes or text of a JSON document. */
export type JsonInput = Uint8Array | string;

// ---------------------------------------------------------------------------------------------
// The field checker: a check turns an unknown value at a path into a typed one, or throws.

type Check<T> = (value: unknown, path: string) => T;

function invalid(path: string, problem: string): never {
  throw new OciError("INVALID_DOCUMENT", `${path}: ${problem}`, { detail: { path } });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const object: Check<Record<string, unknown>> = (v, p) =>
  isPlainObject(v) ? v : invalid(p, "must be an object");
const string: Check<string> = (v, p) => (typeof v === "string" ? v : invalid(p, "must be a string"));
const boolean: Check<boolean> = (v, p) => (typeof v === "boolean" ? v : invalid(p, "must be a boolean"));
const integer: Check<number> = (v, p) =>
  Number.isSafeInteger(v) ? (v as number) : invalid(p, "must be an integer");
const size: Check<number> = (v, p) =>
  Number.isSafeInteger(v) && (v as number) >= 0
    ? (v as number)
    : invalid(p, "must be a non-negative integer");

// RFC 6838 section 4.2 restricted-name, for both type and subtype.
const RESTRICTED_NAME = "[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}";
const MEDIA_TYPE_GRAMMAR = new RegExp(`^${RESTRICTED_NAME}/${RESTRICTED_NAME}$`);

/** True when `value` is a media type as RFC 6838 section 4.2 names them (`type/subtype`). */
export function isValidMediaType(value: unknown): value is string {
  return typeof value === "string" && MEDIA_TYPE_GRAMMAR.test(value);
}

const mediaType: Check<string> = (v, p) =>
  isValidMediaType(v) ? v : invalid(p, `not a valid media type (RFC 6838): ${JSON.stringify(v)}`);

const digest: Check<Descriptor["digest"]> = (v, p) => {
  try {
    parseDigest(v, p);
  } catch (err) {
    if (err instanceof OciError)
      throw new OciError("INVALID_DOCUMENT", err.message, { cause: err, detail: { path: p } });
    throw err;
  }
  return v as Descriptor["digest"];
};

const url: Check<string> = (v, p) =>
  URL.canParse(string(v, p)) ? (v as string) : invalid(p, "not a valid URL");

// RFC 3339 date-time, as Go's time.RFC3339Nano parses it.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const timestamp: Check<string> = (v, p) =>
  RFC3339.test(string(v, p)) && !Number.isNaN(Date.parse(v as string))
    ? (v as string)
    : invalid(p, `not an RFC 3339 date-time: ${JSON.stringify(v)}`);

function arrayOf<T>(item: Check<T>): Check<T[]> {
  return (v, p) =>
    Array.isArray(v) ? v.map((x, i) => item(x, `${p}[${i}]`)) : invalid(p, "must be an array");
}

function mapOf<T>(item: Check<T>): Check<Record<string, T>> {
  return (v, p) => {
    const o = object(v, p);
    for (const [k, x] of Object.entries(o)) item(x, `${p}[${JSON.stringify(k)}]`);
    return o as Record<string, T>;
  };
}

function literal<T extends string | number>(expected: T): Check<T> {
  return (v, p) => (v === expected ? expected : invalid(p, `must be ${JSON.stringify(expected)}`));
}

/** One field of a {@link shape}: its check, whether it must be present, whether `null` is kept. */
interface Field {
  check: Check<unknown>;
  required: boolean;
  keepNull: boolean;
}
const req = (check: Check<unknown>): Field => ({ check, required: true, keepNull: false });
const opt = (check: Check<unknown>): Field => ({ check, required: false, keepNull: false });
/** Optional, and `null` is a value to keep (Docker writes `"Cmd": null`). */
const optNull = (check: Check<unknown>): Field => ({ check, required: false, keepNull: true });

/**
 * Checks an object against a table of fields and returns a shallow copy: unknown fields kept,
 * known ones replaced by their checked values, optional `null`s dropped (unless `keepNull`).
 */
function shape(fields: Record<string, Field>): Check<Record<string, unknown>> {
  return (v, p) => {
    const out: Record<string, unknown> = { ...object(v, p) };
    for (const [key, field] of Object.entries(fields)) {
      const value = Object.hasOwn(out, key) ? out[key] : undefined;
      const at = `${p}.${key}`;
      if (value === null && field.keepNull) continue;
      if (value === undefined || value === null) {
        if (field.required) invalid(at, value === null ? "must not be null" : "required field is missing");
        delete out[key];
      } else {
        out[key] = field.check(value, at);
      }
    }
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// The documents.

const annotations = mapOf(string);
const strings = arrayOf(string);

const platformShape = shape({
  architecture: req(string),
  os: req(string),
  "os.version": opt(string),
  "os.features": opt(strings),
  variant: opt(string),
  features: opt(strings),
});

const descriptorShape = shape({
  mediaType: req(mediaType),
  digest: req(digest),
  size: req(size),
  urls: opt(arrayOf(url)),
  annotations: opt(annotations),
  data: opt(string),
  artifactType: opt(mediaType),
  platform: opt(platformShape),
});

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const descriptorCheck: Check<Descriptor> = (v, p) => {
  const d = descriptorShape(v, p) as unknown as Descriptor;
  if (d.data !== undefined) {
    // The spec says consumers SHOULD verify embedded data; a mismatch would let a manifest
    // claim one blob while carrying another, so pier always does.
    if (!BASE64.test(d.data)) invalid(`${p}.data`, "not valid base64");
    const bytes = Buffer.from(d.data, "base64");
    if (bytes.length !== d.size)
      invalid(`${p}.data`, `decodes to ${bytes.length} bytes but size is ${d.size}`);
    if (digestOf(bytes, parseDigest(d.digest).algorithm) !== d.digest) {
      invalid(`${p}.data`, `does not match digest ${d.digest}`);
    }
  }
  return d;
};

const manifestShape = shape({
  schemaVersion: req(literal(2)),
  mediaType: opt(mediaType),
  artifactType: opt(mediaType),
  config: req(descriptorCheck),
  layers: req(arrayOf(descriptorCheck)),
  subject: opt(descriptorCheck),
  annotations: opt(annotations),
});

const indexShape = shape({
  schemaVersion: req(literal(2)),
  mediaType: opt(mediaType),
  artifactType: opt(mediaType),
  manifests: req(arrayOf(descriptorCheck)),
  subject: opt(descriptorCheck),
  annotations: opt(annotations),
});

const emptyObject = mapOf(object);

const execConfigShape = shape({
  User: opt(string),
  ExposedPorts: opt(emptyObject),
  Env: opt(strings),
  Entrypoint: optNull(strings),
  Cmd: optNull(strings),
  Volumes: opt(emptyObject),
  WorkingDir: opt(string),
  Labels: opt(mapOf(string)),
  StopSignal: opt(string),
  ArgsEscaped: opt(boolean),
  Memory: opt(integer),
  MemorySwap: opt(integer),
  CpuShares: opt(integer),
  Healthcheck: opt(object),
  OnBuild: optNull(strings),
  Shell: opt(strings),
});

const historyShape = shape({
  created: opt(timestamp),
  author: opt(string),
  created_by: opt(string),
  comment: opt(string),
  empty_layer: opt(boolean),
});

const rootfsShape = shape({ type: req(literal("layers")), diff_ids: opt(arrayOf(digest)) });
// Docker omits an empty diff_ids list (`omitempty`); read that as the empty list OCI requires.
const rootfs: Check<Record<string, unknown>> = (v, p) => {
  const r = rootfsShape(v, p);
  r.diff_ids ??= [];
  return r;
};

const configShape = shape({
  created: opt(timestamp),
  author: opt(string),
  architecture: req(string),
  os: req(string),
  "os.version": opt(string),
  "os.features": opt(strings),
  variant: opt(string),
  config: opt(execConfigShape),
  rootfs: req(rootfs),
  history: opt(arrayOf(historyShape)),
});

const layoutShape = shape({ imageLayoutVersion: req(string) });

// ---------------------------------------------------------------------------------------------
// Decoding and the public parse functions.

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes UTF-8 JSON bytes and checks that the top level is an object. Throws `INVALID_JSON`
 * naming `what` for invalid UTF-8, a syntax error or a non-object.
 */
export function parseJsonObject(input: JsonInput, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = typeof input === "string" ? input : utf8.decode(input);
  } catch (err) {
    throw new OciError("INVALID_JSON", `${what}: not valid UTF-8`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new OciError("INVALID_JSON", `${what}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isPlainObject(value)) throw new OciError("INVALID_JSON", `${what}: must be a JSON object`);
  return value;
}

function unsupported(path: string, problem: string): never {
  throw new OciError("UNSUPPORTED_MEDIA_TYPE", `${path}: ${problem}`, { detail: { path } });
}

function refuseSchema1(o: Record<string, unknown>, what: string): void {
  if (o.schemaVersion === 1) {
    unsupported(
      `${what}.schemaVersion`,
      "Docker schema 1 manifests are not supported; convert the image to schema 2",
    );
  }
}

/** Checks an already-decoded value as a descriptor; `path` names it in errors. */
export function validateDescriptor(value: unknown, path = "descriptor"): Descriptor {
  return descriptorCheck(value, path);
}

/** Checks an already-decoded value as a platform object; `path` names it in errors. */
export function validatePlatform(value: unknown, path = "platform"): Platform {
  return platformShape(value, path) as unknown as Platform;
}

/**
 * Checks an already-decoded value as an image manifest (OCI or Docker schema 2). A document
 * whose `mediaType` names an index, or that has `manifests` and no `config`, is refused with
 * `UNSUPPORTED_MEDIA_TYPE` telling the caller it is an index.
 */
export function validateManifest(value: unknown, path = "manifest"): ImageManifest {
  const o = object(value, path);
  refuseSchema1(o, path);
  if (
    isIndexMediaType(o.mediaType as string) ||
    (o.mediaType === undefined && "manifests" in o && !("config" in o))
  ) {
    unsupported(
      `${path}.mediaType`,
      `this document is an image index (${String(o.mediaType ?? "it has manifests[]")}), not an image manifest`,
    );
  }
  if (o.mediaType !== undefined && o.mediaType !== null && !isManifestMediaType(o.mediaType as string)) {
    mediaType(o.mediaType, `${path}.mediaType`);
    unsupported(`${path}.mediaType`, `${JSON.stringify(o.mediaType)} is not an image manifest media type`);
  }
  return manifestShape(o, path) as unknown as ImageManifest;
}

/**
 * Checks an already-decoded value as an image index (OCI index or Docker manifest list). A
 * manifest media type, or `config`/`layers` without `manifests`, is refused with
 * `UNSUPPORTED_MEDIA_TYPE`.
 */
export function validateIndex(value: unknown, path = "index"): ImageIndex {
  const o = object(value, path);
  refuseSchema1(o, path);
  if (
    isManifestMediaType(o.mediaType as string) ||
    (o.mediaType === undefined && "config" in o && !("manifests" in o))
  ) {
    unsupported(
      `${path}.mediaType`,
      `this document is an image manifest (${String(o.mediaType ?? "it has config")}), not an image index`,
    );
  }
  if (o.mediaType !== undefined && o.mediaType !== null && !isIndexMediaType(o.mediaType as string)) {
    mediaType(o.mediaType, `${path}.mediaType`);
    unsupported(`${path}.mediaType`, `${JSON.stringify(o.mediaType)} is not an image index media type`);
  }
  return indexShape(o, path) as unknown as ImageIndex;
}

/** Checks an already-decoded value as an image config (OCI or Docker; Docker's extra fields are kept). */
export function validateImageConfig(value: unknown, path = "config"): ImageConfig {
  return configShape(value, path) as unknown as ImageConfig;
}

/** Parses a descriptor (`application/vnd.oci.descriptor.v1+json`). */
export function parseDescriptor(input: JsonInput): Descriptor {
  return validateDescriptor(parseJsonObject(input, "descriptor"));
}

/** Parses an OCI image manifest or a Docker schema 2 manifest; see {@link validateManifest}. */
export function parseManifest(input: JsonInput): ImageManifest {
  return validateManifest(parseJsonObject(input, "manifest"));
}

/** Parses an OCI image index or a Docker manifest list; see {@link validateIndex}. */
export function parseIndex(input: JsonInput): ImageIndex {
  return validateIndex(parseJsonObject(input, "index"));
}

/** Parses an image config blob (OCI `config.v1+json` or Docker `container.image.v1+json`). */
export function parseImageConfig(input: JsonInput): ImageConfig {
  const o = parseJsonObject(input, "config");
  return validateImageConfig(o);
}

/**
 * Parses the `oci-layout` file. Refuses a layout version whose major number is not 1 with
 * `UNSUPPORTED_MEDIA_TYPE`, since a later major version may change the layout.
 */
export function parseOciLayout(input: JsonInput): OciLayoutHeader {
  const o = layoutShape(parseJsonObject(input, "oci-layout"), "oci-layout") as unknown as OciLayoutHeader;
  if (!/^1\.\d+\.\d+$/.test(o.imageLayoutVersion)) {
    unsupported(
      "oci-layout.imageLayoutVersion",
      `unsupported image layout version ${JSON.stringify(o.imageLayoutVersion)}`,
    );
  }
  return o;
}

/** What {@link parseManifestOrIndex} found: a manifest or an index, and its effective media type. */
export type ManifestOrIndex =
  | { kind: "manifest"; mediaType: string; manifest: ImageManifest }
  | { kind: "index"; mediaType: string; index: ImageIndex };

// Content-Type values that say nothing about which document it is.
const GENERIC_TYPES = new Set(["", "application/json", "application/octet-stream", "text/plain"]);

/**
 * Parses a document that may be a manifest or an index, deciding by, in order: its own
 * `mediaType` field, `mediaTypeHint` (e.g. an HTTP `Content-Type`, parameters ignored), and
 * its fields (`manifests` means index, `config` means manifest). A hint that contradicts the
 * document's own `mediaType` is refused, as is any other media type (`UNSUPPORTED_MEDIA_TYPE`).
 * The returned `mediaType` is the document's own, else the hint's, else the OCI type inferred.
 */
export function parseManifestOrIndex(input: JsonInput, mediaTypeHint?: string): ManifestOrIndex {
  const o = parseJsonObject(input, "manifest");
  const hint = (mediaTypeHint ?? "").split(";")[0]!.trim().toLowerCase();
  const own = typeof o.mediaType === "string" ? o.mediaType : undefined;
  if (own !== undefined && !GENERIC_TYPES.has(hint) && hint !== own) {
    unsupported(
      "manifest.mediaType",
      `${JSON.stringify(own)} contradicts the declared media type ${JSON.stringify(hint)}`,
    );
  }
  refuseSchema1(o, "manifest");
  let effective = own ?? (GENERIC_TYPES.has(hint) ? undefined : hint);
  if (effective === undefined) {
    if ("manifests" in o) effective = MediaType.OciIndex;
    else if ("config" in o) effective = MediaType.OciManifest;
    else invalid("manifest", "neither an image manifest (no config) nor an index (no manifests)");
  }
  if (isIndexMediaType(effective))
    return { kind: "index", mediaType: effective, index: validateIndex(o, "index") };
  if (isManifestMediaType(effective)) {
    return { kind: "manifest", mediaType: effective, manifest: validateManifest(o, "manifest") };
  }
  return unsupported(
    "manifest.mediaType",
    `${JSON.stringify(effective)} is neither an image manifest nor an image index`,
  );
}
