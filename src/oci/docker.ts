/**
 * Conversion between Docker's image manifest v2 schema 2 formats and OCI, as pure functions on
 * parsed documents (what `skopeo copy --format` does to manifests).
 *
 * Only media types change; digests of layers and configs stay, because the bytes of those
 * blobs are the same in both worlds. A converted manifest has new bytes and so a new digest:
 * a caller converting an index converts each child manifest too and puts the child's new
 * digest and size into the index entry.
 *
 * What Docker cannot express is refused with `UNSUPPORTED_CONVERSION` naming the field: zstd
 * layers, `subject`/`artifactType`, artifact configs, nested indexes, entries without platform.
 * Manifest and index annotations, and descriptors' `data`/`artifactType`, have no place in
 * Docker's formats and are dropped.
 *
 * @example
 * ```ts
 * const oci = dockerManifestToOci(parseManifest(bytes));
 * const back = ociManifestToDocker(oci); // deep-equal to the Docker original
 * ```
 */
import { OciError } from "./error.js";
import { MediaType } from "./media-types.js";
import type { Descriptor, ImageConfig, ImageExecConfig, ImageIndex, ImageManifest } from "./types.js";

function refuse(path: string, problem: string): never {
  throw new OciError("UNSUPPORTED_CONVERSION", `${path}: ${problem}`, { detail: { path } });
}

// Docker layer media type -> OCI layer media type. OCI layer types found in a Docker manifest
// (buildkit writes them) are already OCI and kept as they are.
const LAYER_TO_OCI: Readonly<Record<string, string>> = {
  [MediaType.DockerLayerGzip]: MediaType.OciLayerGzip,
  [MediaType.DockerLayer]: MediaType.OciLayer,
  [MediaType.DockerLayerForeignGzip]: MediaType.OciLayerNondistributableGzip,
  [MediaType.OciLayerGzip]: MediaType.OciLayerGzip,
  [MediaType.OciLayer]: MediaType.OciLayer,
  [MediaType.OciLayerZstd]: MediaType.OciLayerZstd,
  [MediaType.OciLayerNondistributable]: MediaType.OciLayerNondistributable,
  [MediaType.OciLayerNondistributableGzip]: MediaType.OciLayerNondistributableGzip,
  [MediaType.OciLayerNondistributableZstd]: MediaType.OciLayerNondistributableZstd,
};

const LAYER_TO_DOCKER: Readonly<Record<string, string>> = {
  [MediaType.OciLayerGzip]: MediaType.DockerLayerGzip,
  [MediaType.OciLayer]: MediaType.DockerLayer,
  [MediaType.OciLayerNondistributableGzip]: MediaType.DockerLayerForeignGzip,
  [MediaType.DockerLayerGzip]: MediaType.DockerLayerGzip,
  [MediaType.DockerLayer]: MediaType.DockerLayer,
  [MediaType.DockerLayerForeignGzip]: MediaType.DockerLayerForeignGzip,
};

/** A descriptor with another media type and only the fields Docker's descriptor has. */
function dockerDescriptor(d: Descriptor, mediaType: string): Descriptor {
  const out: Descriptor = { mediaType, digest: d.digest, size: d.size };
  if (d.urls?.length) out.urls = [...d.urls];
  if (d.annotations && Object.keys(d.annotations).length) out.annotations = { ...d.annotations };
  if (d.platform) out.platform = { ...d.platform };
  return out;
}

function withMediaType(d: Descriptor, mediaType: string): Descriptor {
  return { ...d, mediaType };
}

/**
 * A Docker schema 2 manifest as an OCI image manifest. Throws `UNSUPPORTED_CONVERSION` for a
 * manifest that is not Docker schema 2, a plugin config, or a layer type with no OCI equivalent.
 */
export function dockerManifestToOci(m: ImageManifest): ImageManifest {
  if (m.mediaType !== MediaType.DockerManifest) {
    refuse("manifest.mediaType", `expected ${MediaType.DockerManifest}, got ${JSON.stringify(m.mediaType)}`);
  }
  if (m.config.mediaType !== MediaType.DockerConfig && m.config.mediaType !== MediaType.OciConfig) {
    refuse("manifest.config.mediaType", `${JSON.stringify(m.config.mediaType)} has no OCI equivalent`);
  }
  return {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: withMediaType(m.config, MediaType.OciConfig),
    layers: m.layers.map((l, i) => {
      const mt =
        LAYER_TO_OCI[l.mediaType] ??
        refuse(`manifest.layers[${i}].mediaType`, `${JSON.stringify(l.mediaType)} has no OCI equivalent`);
      return withMediaType(l, mt);
    }),
    ...(m.annotations && Object.keys(m.annotations).length ? { annotations: { ...m.annotations } } : {}),
  };
}

/**
 * An OCI image manifest as a Docker schema 2 manifest. Throws `UNSUPPORTED_CONVERSION` for zstd
 * or uncompressed non-distributable layers, an artifact (`artifactType` or a non-image config),
 * or a `subject`, none of which Docker's format can carry.
 */
export function ociManifestToDocker(m: ImageManifest): ImageManifest {
  if (m.mediaType !== undefined && m.mediaType !== MediaType.OciManifest) {
    refuse("manifest.mediaType", `expected ${MediaType.OciManifest}, got ${JSON.stringify(m.mediaType)}`);
  }
  if (m.artifactType !== undefined) refuse("manifest.artifactType", "artifacts have no Docker schema 2 form");
  if (m.subject !== undefined) refuse("manifest.subject", "Docker schema 2 has no subject (referrers)");
  if (m.config.mediaType !== MediaType.OciConfig) {
    refuse(
      "manifest.config.mediaType",
      `${JSON.stringify(m.config.mediaType)} is not an image config; Docker has no equivalent`,
    );
  }
  return {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifest,
    config: dockerDescriptor(m.config, MediaType.DockerConfig),
    layers: m.layers.map((l, i) => {
      const at = `manifest.layers[${i}].mediaType`;
      if (l.mediaType === MediaType.OciLayerZstd || l.mediaType === MediaType.OciLayerNondistributableZstd) {
        refuse(at, "zstd-compressed layers have no Docker schema 2 equivalent; recompress with gzip");
      }
      const mt =
        LAYER_TO_DOCKER[l.mediaType] ?? refuse(at, `${JSON.stringify(l.mediaType)} has no Docker equivalent`);
      return dockerDescriptor(l, mt);
    }),
  };
}

/** A Docker manifest list as an OCI index; entry media types mapped (see the module comment on digests). */
export function dockerIndexToOci(list: ImageIndex): ImageIndex {
  if (list.mediaType !== MediaType.DockerManifestList) {
    refuse(
      "index.mediaType",
      `expected ${MediaType.DockerManifestList}, got ${JSON.stringify(list.mediaType)}`,
    );
  }
  return {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: list.manifests.map((d, i) => {
      if (d.mediaType === MediaType.DockerManifest || d.mediaType === MediaType.OciManifest) {
        return withMediaType(d, MediaType.OciManifest);
      }
      return refuse(
        `index.manifests[${i}].mediaType`,
        `${JSON.stringify(d.mediaType)} is not an image manifest`,
      );
    }),
    ...(list.annotations && Object.keys(list.annotations).length
      ? { annotations: { ...list.annotations } }
      : {}),
  };
}

/**
 * An OCI index as a Docker manifest list. Every entry must be an image manifest with a
 * platform (Docker lists cannot nest, carry artifacts or omit the platform).
 */
export function ociIndexToDocker(index: ImageIndex): ImageIndex {
  if (index.mediaType !== undefined && index.mediaType !== MediaType.OciIndex) {
    refuse("index.mediaType", `expected ${MediaType.OciIndex}, got ${JSON.stringify(index.mediaType)}`);
  }
  if (index.artifactType !== undefined)
    refuse("index.artifactType", "artifacts have no Docker manifest list form");
  if (index.subject !== undefined)
    refuse("index.subject", "Docker manifest lists have no subject (referrers)");
  return {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifestList,
    manifests: index.manifests.map((d, i) => {
      const at = `index.manifests[${i}]`;
      if (d.mediaType !== MediaType.OciManifest && d.mediaType !== MediaType.DockerManifest) {
        refuse(
          `${at}.mediaType`,
          `${JSON.stringify(d.mediaType)} cannot be an entry of a Docker manifest list`,
        );
      }
      if (!d.platform) refuse(`${at}.platform`, "a Docker manifest list entry needs a platform");
      return dockerDescriptor(d, MediaType.DockerManifest);
    }),
  };
}

const OCI_CONFIG_FIELDS = [
  "created",
  "author",
  "architecture",
  "os",
  "os.version",
  "os.features",
  "variant",
  "config",
  "rootfs",
  "history",
] as const;

// config.md's execution fields, including the ones it reserves for compatibility.
const OCI_EXEC_FIELDS = [
  "User",
  "ExposedPorts",
  "Env",
  "Entrypoint",
  "Cmd",
  "Volumes",
  "WorkingDir",
  "Labels",
  "StopSignal",
  "ArgsEscaped",
  "Memory",
  "MemorySwap",
  "CpuShares",
  "Healthcheck",
] as const;

function pick<T extends object>(from: T, keys: readonly string[]): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = (from as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = structuredClone(v);
  }
  return out as Partial<T>;
}

/**
 * A Docker image config reduced to the fields of an OCI config (Docker-only fields such as
 * `container_config`, `docker_version`, `Hostname`, `OnBuild` dropped). Tools that convert
 * an image usually keep the config bytes as they are (they are valid OCI); this is for
 * building a clean OCI config.
 */
export function dockerConfigToOci(config: ImageConfig): ImageConfig {
  const out = pick(config, OCI_CONFIG_FIELDS) as ImageConfig;
  if (config.config) out.config = pick(config.config, OCI_EXEC_FIELDS) as ImageExecConfig;
  return out;
}

/** An OCI image config as a Docker one: every OCI config field is valid Docker, so a deep copy. */
export function ociConfigToDocker(config: ImageConfig): ImageConfig {
  return structuredClone(config);
}
