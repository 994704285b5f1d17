/**
 * Building images in the local store: a new image from a directory (`pier image create`) and a
 * layer on top of an existing one (`pier image append`). Layers are packed reproducibly by
 * `src/layer`; configs and manifests are written canonically (sorted keys are not required by
 * the spec, but a fixed field order and `SOURCE_DATE_EPOCH` make two builds byte-identical).
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import { decompress, packDirectory, type StoredLayer, sniffCompression, storeLayer } from "../layer/index.js";
import { type Compression, MediaType } from "../oci/media-types.js";
import { hostPlatform, parsePlatform } from "../oci/platform.js";
import { parseReference } from "../oci/reference.js";
import type {
  Descriptor,
  HistoryEntry,
  ImageConfig,
  ImageExecConfig,
  ImageManifest,
  Platform,
} from "../oci/types.js";
import { mergeEnv } from "./bundle-config.js";
import { ImageError } from "./error.js";
import type { ImageStore } from "./image-store.js";

/** Execution settings of a new image (the `config` of its image config). */
export interface ExecSettings {
  entrypoint?: string[];
  cmd?: string[];
  /** `KEY=value` entries; a later key replaces an earlier one. */
  env?: string[];
  workdir?: string;
  user?: string;
  /** `key=value` labels. */
  labels?: Record<string, string>;
  stopSignal?: string;
  /** Docker's `Healthcheck` (`HEALTHCHECK`: Test, and durations in nanoseconds). */
  healthcheck?: Record<string, unknown>;
}

/** Options shared by create and append. */
export interface BuildOptions extends ExecSettings {
  /** Layer compression (default gzip). */
  compression?: Compression;
  /** Creation time in seconds since the epoch, for every timestamp (default `SOURCE_DATE_EPOCH`, else now). */
  created?: number;
  /** A comment recorded in the history entry. */
  comment?: string;
}

/** Options of {@link createImage}. */
export interface CreateOptions extends BuildOptions {
  /** Platform recorded in the config, `os/arch[/variant]` (default: the host's). */
  platform?: string;
}

/** What a build produced. */
export interface BuiltImage {
  name: string;
  manifest: Descriptor;
  config: Descriptor;
  layer: StoredLayer;
}

/** The build timestamp: the option, else `SOURCE_DATE_EPOCH`, else now (seconds). */
export function buildTime(option?: number): number {
  if (option !== undefined) return option;
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env !== undefined && env !== "") {
    if (!/^\d+$/.test(env))
      throw new ImageError("INVALID_ARGUMENT", `SOURCE_DATE_EPOCH: not a number of seconds: "${env}"`);
    return Number(env);
  }
  return Math.floor(Date.now() / 1000);
}

/** Checks that every entry is `KEY=value`, naming the first that is not. */
export function checkEnv(entries: readonly string[]): readonly string[] {
  for (const e of entries) {
    if (e.indexOf("=") <= 0) throw new ImageError("INVALID_ARGUMENT", `env: "${e}" is not KEY=value`);
  }
  return entries;
}

/** Applies settings over an existing exec config (entrypoint and cmd replace; env and labels merge). */
export function applyExecSettings(base: ImageExecConfig, s: ExecSettings): ImageExecConfig {
  const out: ImageExecConfig = { ...base };
  if (s.env) out.Env = mergeEnv(base.Env ?? [], checkEnv(s.env));
  if (s.entrypoint) {
    out.Entrypoint = s.entrypoint;
    // As a Dockerfile's ENTRYPOINT does: an inherited Cmd no longer applies.
    if (!s.cmd) delete out.Cmd;
  }
  if (s.cmd) out.Cmd = s.cmd;
  if (s.workdir !== undefined) {
    if (!s.workdir.startsWith("/"))
      throw new ImageError("INVALID_ARGUMENT", `workdir: must be absolute: "${s.workdir}"`);
    out.WorkingDir = s.workdir;
  }
  if (s.user !== undefined) out.User = s.user;
  if (s.labels) out.Labels = { ...(base.Labels ?? {}), ...s.labels };
  if (s.stopSignal !== undefined) out.StopSignal = s.stopSignal;
  if (s.healthcheck !== undefined) out.Healthcheck = s.healthcheck;
  return out;
}

async function putJson(store: ImageStore, mediaType: string, value: unknown): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(value));
  const info = await store.content.ingest(bytes);
  return { mediaType, digest: info.digest, size: info.size };
}

/**
 * Writes `config` and its manifest to the store and names the manifest `names` (one name, a
 * list, or none: then the image is known by its id only). The names are set last.
 */
export async function writeImage(
  store: ImageStore,
  names: string | readonly string[],
  config: ImageConfig,
  layers: Descriptor[],
  platform: Platform,
): Promise<{ manifest: Descriptor; config: Descriptor }> {
  const configDesc = await putJson(store, MediaType.OciConfig, config);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: configDesc,
    layers,
  };
  const manifestDesc = await putJson(store, MediaType.OciManifest, manifest);
  for (const name of typeof names === "string" ? [names] : names)
    await store.layout.set(name, { ...manifestDesc, platform });
  return { manifest: manifestDesc, config: configDesc };
}

/** The manifest descriptor of a stored layer. Pure. */
export function layerDescriptor(l: StoredLayer): Descriptor {
  return { mediaType: l.mediaType, digest: l.digest, size: l.size };
}

/**
 * Packs `dir` into one layer and records a new single-layer image named `name`. The directory
 * is the image's root filesystem. Blobs become visible only when complete; the name is set last.
 */
export async function createImage(
  store: ImageStore,
  dir: string,
  name: string,
  options: CreateOptions = {},
): Promise<BuiltImage> {
  const ref = parseReference(name).toString();
  const created = buildTime(options.created);
  const platform = options.platform ? parsePlatform(options.platform) : hostPlatform();
  const layer = await storeLayer(
    store.content,
    await packDirectory(dir, { mtime: options.created ?? envEpoch() }),
    {
      compression: options.compression ?? "gzip",
    },
  );
  const iso = new Date(created * 1000).toISOString();
  const exec = applyExecSettings(
    { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] },
    options,
  );
  const config: ImageConfig = {
    created: iso,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: exec,
    rootfs: { type: "layers", diff_ids: [layer.diffId] },
    history: [historyEntry(iso, `pier image create ${dir}`, options.comment)],
  };
  const written = await writeImage(store, ref, config, [layerDescriptor(layer)], platformOf(config));
  return { name: ref, ...written, layer };
}

/** What {@link appendLayer} adds: a directory packed as a layer, or a tar file (optionally compressed). */
export type LayerSource = { dir: string } | { tar: string };

/**
 * Adds one layer on top of the image `ref` and records the result under `options.tag`, or under
 * `ref` itself when it is a name. Exec settings given in `options` are applied to the new config.
 */
export async function appendLayer(
  store: ImageStore,
  ref: string,
  source: LayerSource,
  options: BuildOptions & { tag?: string } = {},
): Promise<BuiltImage> {
  const base = await store.resolveImage(ref);
  const target = options.tag ? parseReference(options.tag).toString() : base.name;
  if (target === undefined) {
    throw new ImageError("INVALID_ARGUMENT", `append: ${ref} has no name; give --tag for the new image`);
  }
  const tar =
    "dir" in source
      ? await packDirectory(source.dir, { mtime: options.created ?? envEpoch() })
      : await openTar(source.tar);
  const layer = await storeLayer(store.content, tar, { compression: options.compression ?? "gzip" });
  const iso = new Date(buildTime(options.created) * 1000).toISOString();
  const config: ImageConfig = {
    ...base.config,
    created: iso,
    config: applyExecSettings(base.config.config ?? {}, options),
    rootfs: { type: "layers", diff_ids: [...base.config.rootfs.diff_ids, layer.diffId] },
    history: [
      ...(base.config.history ?? []),
      historyEntry(iso, `pier image append ${"dir" in source ? source.dir : source.tar}`, options.comment),
    ],
  };
  const layers = [...base.manifest.layers, layerDescriptor(layer)];
  const written = await writeImage(store, target, config, layers, platformOf(config));
  return { name: target, ...written, layer };
}

function envEpoch(): number | undefined {
  const env = process.env.SOURCE_DATE_EPOCH;
  return env !== undefined && /^\d+$/.test(env) ? Number(env) : undefined;
}

function historyEntry(created: string, createdBy: string, comment?: string): HistoryEntry {
  return { created, created_by: createdBy, ...(comment ? { comment } : {}) };
}

function platformOf(c: ImageConfig): Platform {
  return { architecture: c.architecture, os: c.os, ...(c.variant ? { variant: c.variant } : {}) };
}

/** Opens a tar file as an uncompressed tar stream, whatever its compression (sniffed). */
async function openTar(path: string): Promise<Readable> {
  const fh = await open(path, "r");
  const head = Buffer.alloc(4);
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  return decompress(createReadStream(path), sniffCompression(head) ?? "none");
}
