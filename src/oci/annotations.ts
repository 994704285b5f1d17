/**
 * Annotation keys, as image-spec `annotations.md` and `conversion.md` name them. One module,
 * so that no other file spells an `org.opencontainers.image.*` key.
 *
 * @example
 * ```ts
 * const name = desc.annotations?.[Annotation.RefName]; // "latest" in an OCI layout's index.json
 * ```
 */
export const Annotation = {
  /** Date and time the image was built (RFC 3339). */
  Created: "org.opencontainers.image.created",
  /** Contact details of the people or organisation responsible for the image. */
  Authors: "org.opencontainers.image.authors",
  /** URL to find more information on the image. */
  Url: "org.opencontainers.image.url",
  /** URL to get documentation on the image. */
  Documentation: "org.opencontainers.image.documentation",
  /** URL to get the source code that built the image. */
  Source: "org.opencontainers.image.source",
  /** Version of the packaged software. */
  Version: "org.opencontainers.image.version",
  /** Source control revision of the packaged software. */
  Revision: "org.opencontainers.image.revision",
  /** Name of the distributing entity. */
  Vendor: "org.opencontainers.image.vendor",
  /** SPDX licence expression. */
  Licenses: "org.opencontainers.image.licenses",
  /** Name of the reference (the tag) of a descriptor in an OCI layout's `index.json`. */
  RefName: "org.opencontainers.image.ref.name",
  /** Human-readable title; for artifacts, the file name of a layer. */
  Title: "org.opencontainers.image.title",
  /** Human-readable description. */
  Description: "org.opencontainers.image.description",
  /** Digest of the base image. */
  BaseDigest: "org.opencontainers.image.base.digest",
  /** Fully qualified reference of the base image. */
  BaseName: "org.opencontainers.image.base.name",

  // Implicit annotations that conversion.md derives from an image config.
  /** The config's `os`. */
  Os: "org.opencontainers.image.os",
  /** The config's `architecture`. */
  Architecture: "org.opencontainers.image.architecture",
  /** The config's `variant`. */
  Variant: "org.opencontainers.image.variant",
  /** The config's `os.version`. */
  OsVersion: "org.opencontainers.image.os.version",
  /** The config's `os.features`, comma-separated. */
  OsFeatures: "org.opencontainers.image.os.features",
  /** The config's `author` (singular, unlike {@link Annotation.Authors}). */
  Author: "org.opencontainers.image.author",
  /** The config's `Config.StopSignal`. */
  StopSignal: "org.opencontainers.image.stopSignal",
  /** The keys of the config's `Config.ExposedPorts`, comma-separated. */
  ExposedPorts: "org.opencontainers.image.exposedPorts",
} as const;

/** Any annotation key named in {@link Annotation}. */
export type AnnotationKey = (typeof Annotation)[keyof typeof Annotation];

/** The reserved namespace: keys under it are defined only by the image-spec. */
export const RESERVED_ANNOTATION_PREFIX = "org.opencontainers.image.";

/**
 * True when `value` is a valid `org.opencontainers.image.ref.name` per annotations.md:
 * components of `[A-Za-z0-9]+` joined by separators `-._:@+` or `--`, components split by `/`.
 */
export function isValidRefName(value: string): boolean {
  return /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/.test(
    value,
  );
}
