/**
 * Media types, as image-spec `media-types.md` and the Docker image manifest v2 schema 2 name them.
 * One module, so that no other file spells a media type.
 */
export const MediaType = {
  OciDescriptor: "application/vnd.oci.descriptor.v1+json",
  OciLayoutHeader: "application/vnd.oci.layout.header.v1+json",
  OciIndex: "application/vnd.oci.image.index.v1+json",
  OciManifest: "application/vnd.oci.image.manifest.v1+json",
  OciConfig: "application/vnd.oci.image.config.v1+json",
  OciLayer: "application/vnd.oci.image.layer.v1.tar",
  OciLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  OciLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  OciLayerNondistributable: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  OciLayerNondistributableGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  OciLayerNondistributableZstd: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  OciEmpty: "application/vnd.oci.empty.v1+json",
  DockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  DockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  DockerConfig: "application/vnd.docker.container.image.v1+json",
  DockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  DockerLayerForeignGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  DockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  DockerPluginConfig: "application/vnd.docker.plugin.v1+json",
} as const;

/** Any media type string pier knows by name. */
export type KnownMediaType = (typeof MediaType)[keyof typeof MediaType];

/** Media types of documents that list other manifests (OCI index, Docker manifest list). */
export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.OciIndex, MediaType.DockerManifestList];

/** Media types of single-image manifests (OCI manifest, Docker schema 2). */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.OciManifest, MediaType.DockerManifest];

/** True for an OCI index or Docker manifest list. */
export function isIndexMediaType(mt: string | undefined): boolean {
  return mt !== undefined && INDEX_MEDIA_TYPES.includes(mt);
}

/** True for an OCI image manifest or Docker schema 2 manifest. */
export function isManifestMediaType(mt: string | undefined): boolean {
  return mt !== undefined && MANIFEST_MEDIA_TYPES.includes(mt);
}

/** Compression of a layer blob, as its media type declares it. */
export type Compression = "none" | "gzip" | "zstd";

/** The layer media types and the compression each one declares. */
const LAYER_COMPRESSION: Readonly<Record<string, Compression>> = {
  [MediaType.OciLayer]: "none",
  [MediaType.OciLayerGzip]: "gzip",
  [MediaType.OciLayerZstd]: "zstd",
  [MediaType.OciLayerNondistributable]: "none",
  [MediaType.OciLayerNondistributableGzip]: "gzip",
  [MediaType.OciLayerNondistributableZstd]: "zstd",
  [MediaType.DockerLayerGzip]: "gzip",
  [MediaType.DockerLayerForeignGzip]: "gzip",
  [MediaType.DockerLayer]: "none",
};

/** The compression a layer media type declares, or `undefined` when it is not a layer media type. */
export function layerCompression(mediaType: string): Compression | undefined {
  return LAYER_COMPRESSION[mediaType];
}

/** The OCI layer media type for a compression. */
export function ociLayerMediaType(compression: Compression): string {
  return compression === "gzip"
    ? MediaType.OciLayerGzip
    : compression === "zstd"
      ? MediaType.OciLayerZstd
      : MediaType.OciLayer;
}
