/**
 * The build cache in a registry (`--cache-to` / `--cache-from type=registry,ref=…`), in the
 * spirit of BuildKit's registry cache: one OCI manifest (an artifact, `artifactType`
 * {@link CACHE_ARTIFACT_TYPE}) whose config is the list of step records — a step's cache key
 * (content-addressed: its parent's key, the instruction, what it copies, never a host path or a
 * time) and the layer it made, or none — and whose layers are those layers' blobs, so that the
 * registry keeps them. Another machine with an empty cache reads the records and pulls a layer
 * only when a step hits. `mode=min` (BuildKit's default) exports the steps of the target stage's
 * chain, `mode=max` those of every stage built.
 *
 * What the registry sends is bounded (the records' size) and checked (every digest and media
 * type; every blob pulled is verified against its digest by the content store).
 */
import type { ImageStore } from "../image/image-store.js";
import { compressionForMediaType } from "../layer/index.js";
import { type Digest, digestOf, isDigest } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import { parseReference } from "../oci/reference.js";
import type { Descriptor } from "../oci/types.js";
import {
  copyImage,
  type ImageSource,
  openDestination,
  openSource,
  RemoteError,
  type RemoteOptions,
} from "../remote/index.js";
import { BuildError } from "./error.js";
import type { BuildLayer } from "./rootfs.js";
import { storeManifestSource } from "./store-source.js";

/** The `artifactType` of a pier build cache manifest. */
export const CACHE_ARTIFACT_TYPE = "application/vnd.pier.build.cache.v1";
/** The media type of its config: the step records (JSON). */
export const CACHE_CONFIG_TYPE = "application/vnd.pier.build.cache.config.v1+json";
/** Records of one cache are bounded: a step record is ~300 bytes. */
const MAX_RECORDS_BYTES = 16 << 20;
const MAX_MANIFEST_BYTES = 4 << 20;

/** One cached step: its key and its layer (`null`: the step changed no file). */
export interface CacheRecord {
  key: Digest;
  layer: BuildLayer | null;
}

/** One `--cache-from` / `--cache-to` of type registry. */
export interface RegistryCacheSpec {
  ref: string;
  /** `--cache-to` only: `min` (the target's chain, BuildKit's default) or `max` (every stage). */
  mode: "min" | "max";
}

/**
 * Parses `--cache-from` / `--cache-to` values as buildx takes them: `type=registry,ref=R[,mode=…]`,
 * or a bare reference. Other types and options are refused by name.
 */
export function parseCacheSpec(value: string, flag: "--cache-from" | "--cache-to"): RegistryCacheSpec {
  const kv = new Map<string, string>();
  if (!value.includes("=")) kv.set("type", "registry").set("ref", value);
  else
    for (const part of value.split(",")) {
      const eq = part.indexOf("=");
      if (eq <= 0) throw new BuildError("INVALID_ARGUMENT", `${flag}: "${part}" is not key=value`);
      kv.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
  const type = kv.get("type") ?? "registry";
  if (type !== "registry")
    throw new BuildError(
      "UNSUPPORTED",
      `${flag} type=${type}: pier keeps its cache locally and in registries (type=registry)`,
    );
  const allowed =
    flag === "--cache-to" ? ["type", "ref", "mode", "oci-mediatypes", "image-manifest"] : ["type", "ref"];
  for (const k of kv.keys())
    if (!allowed.includes(k)) throw new BuildError("UNSUPPORTED", `${flag}: option ${k} is not supported`);
  for (const k of ["oci-mediatypes", "image-manifest"])
    if (kv.has(k) && kv.get(k) !== "true")
      throw new BuildError("UNSUPPORTED", `${flag} ${k}=${kv.get(k)}: pier's cache is an OCI image manifest`);
  const ref = kv.get("ref");
  if (!ref) throw new BuildError("INVALID_ARGUMENT", `${flag}: ref= is required`);
  try {
    parseReference(ref);
  } catch (err) {
    throw new BuildError("INVALID_ARGUMENT", `${flag} ref=${ref}: ${(err as Error).message}`);
  }
  const mode = kv.get("mode") ?? "min";
  if (mode !== "min" && mode !== "max")
    throw new BuildError("INVALID_ARGUMENT", `${flag} mode=${mode}: min or max`);
  return { ref: parseReference(ref).toString(), mode };
}

/** The records of a registry cache, and the blobs they name, pulled on demand. */
export class ImportedCache {
  private constructor(
    private readonly records: Map<Digest, BuildLayer | null>,
    private readonly source: ImageSource | undefined,
  ) {}

  /** A cache with no records (the ref did not exist yet). */
  static empty(): ImportedCache {
    return new ImportedCache(new Map(), undefined);
  }

  /**
   * Reads the cache manifest `ref` names. A missing one is an empty cache (reported through
   * `warn`, as BuildKit warns and builds); a malformed one is an error naming the field.
   */
  static async load(ref: string, remote: RemoteOptions, warn: (m: string) => void): Promise<ImportedCache> {
    const source = await openSource(`docker://${ref}`, remote);
    try {
      let manifest: { bytes: Buffer };
      try {
        manifest = await source.getManifest();
      } catch (err) {
        if (err instanceof RemoteError && err.code === "NOT_FOUND") {
          warn(`--cache-from ${ref}: no cache there yet`);
          await source.close();
          return ImportedCache.empty();
        }
        throw err;
      }
      if (manifest.bytes.length > MAX_MANIFEST_BYTES) throw malformed(ref, "the manifest is too large");
      const doc = parseJson(manifest.bytes, ref, "manifest") as {
        artifactType?: unknown;
        config?: Descriptor;
      };
      if (doc.config?.mediaType !== CACHE_CONFIG_TYPE)
        throw malformed(ref, `not a pier build cache (config media type ${String(doc.config?.mediaType)})`);
      const config = doc.config;
      if (!isDigest(config.digest) || !(config.size >= 0 && config.size <= MAX_RECORDS_BYTES))
        throw malformed(ref, "config descriptor");
      const chunks: Buffer[] = [];
      for await (const c of await source.getBlob(config)) chunks.push(c as Buffer);
      const bytes = Buffer.concat(chunks);
      if (digestOf(bytes) !== config.digest) throw malformed(ref, "config digest");
      const records = new Map<Digest, BuildLayer | null>();
      const body = parseJson(bytes, ref, "records") as { records?: unknown };
      if (!Array.isArray(body.records)) throw malformed(ref, "records");
      for (const [i, r] of (body.records as CacheRecord[]).entries()) {
        if (!isDigest(r?.key)) throw malformed(ref, `records[${i}].key`);
        records.set(r.key, r.layer === null ? null : checkLayer(r.layer, ref, i));
      }
      return new ImportedCache(records, source);
    } catch (err) {
      await source.close();
      throw err;
    }
  }

  /** How many step records the cache holds. */
  get size(): number {
    return this.records.size;
  }

  /**
   * The layer step `key` made (its blob now in `store`), `null` for a step that changed no
   * file, `undefined` when the cache does not know the step.
   */
  async lookup(key: Digest, store: ImageStore): Promise<BuildLayer | null | undefined> {
    if (!this.records.has(key)) return undefined;
    const layer = this.records.get(key)!;
    if (layer === null || !this.source) return layer;
    if (!(await store.content.info(layer.digest))) {
      const desc: Descriptor = { mediaType: layer.mediaType, digest: layer.digest, size: layer.size };
      await store.content.ingest(await this.source.getBlob(desc, undefined, { verify: false }), {
        digest: layer.digest,
        size: layer.size,
      });
    }
    return layer;
  }

  async close(): Promise<void> {
    await this.source?.close();
  }
}

/**
 * Pushes `records` to `ref` as one cache manifest (layers deduplicated, in first-use order):
 * its config and manifest are written into the store, then copied by the copy engine (blobs the
 * registry has are skipped or mounted).
 */
export async function exportCache(
  store: ImageStore,
  records: readonly CacheRecord[],
  ref: string,
  remote: RemoteOptions,
): Promise<Digest> {
  const seen = new Set<string>();
  const unique: CacheRecord[] = [];
  for (const r of records) if (!seen.has(r.key) && seen.add(r.key)) unique.push(r);
  const configBytes = Buffer.from(JSON.stringify({ records: unique }));
  const layers: Descriptor[] = [];
  const blobs = new Set<string>();
  for (const r of unique)
    if (r.layer && !blobs.has(r.layer.digest) && blobs.add(r.layer.digest))
      layers.push({ mediaType: r.layer.mediaType, digest: r.layer.digest, size: r.layer.size });
  const config: Descriptor = {
    mediaType: CACHE_CONFIG_TYPE,
    digest: digestOf(configBytes),
    size: configBytes.length,
  };
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: CACHE_ARTIFACT_TYPE,
      config,
      // An artifact without layers still needs one entry (image-spec): the empty descriptor.
      layers:
        layers.length > 0
          ? layers
          : [{ mediaType: MediaType.OciEmpty, digest: digestOf("{}"), size: 2, data: "e30=" }],
    }),
  );
  if (layers.length === 0) await store.content.ingest(Buffer.from("{}"), { digest: digestOf("{}"), size: 2 });
  await store.content.ingest(configBytes, { digest: config.digest, size: config.size });
  const digest = digestOf(manifestBytes);
  await store.content.ingest(manifestBytes, { digest, size: manifestBytes.length });
  const dest = await openDestination(`docker://${ref}`, remote);
  try {
    await copyImage(storeManifestSource(store, digest), dest);
  } finally {
    await dest.close();
  }
  return digest;
}

function malformed(ref: string, what: string): BuildError {
  return new BuildError("INVALID_ARGUMENT", `--cache-from ${ref}: malformed cache: ${what}`);
}

function parseJson(bytes: Buffer, ref: string, what: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(bytes.toString("utf8"));
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {}
  throw malformed(ref, `${what} is not a JSON object`);
}

function checkLayer(l: unknown, ref: string, i: number): BuildLayer {
  const layer = l as Partial<BuildLayer> | null;
  if (
    typeof layer !== "object" ||
    layer === null ||
    !isDigest(layer.digest) ||
    !isDigest(layer.diffId) ||
    typeof layer.size !== "number" ||
    !Number.isSafeInteger(layer.size) ||
    layer.size < 0 ||
    typeof layer.mediaType !== "string"
  )
    throw malformed(ref, `records[${i}].layer`);
  try {
    compressionForMediaType(layer.mediaType);
  } catch {
    throw malformed(ref, `records[${i}].layer.mediaType ${layer.mediaType}`);
  }
  return { digest: layer.digest, diffId: layer.diffId, size: layer.size, mediaType: layer.mediaType };
}
