/**
 * Checkpoints as OCI images, in the format podman 4's `container checkpoint --create-image`
 * and CRI-O write and restore: a single-layer image whose layer holds the checkpoint's files
 * (the same files as an exported archive: `checkpoint/`, `config.dump`, `spec.dump`, …, at the
 * layer's root), an empty execution config, and annotations on the manifest naming the
 * checkpointed container, its image and the runtime. pier adds the container's image as the
 * manifest's `subject` (so a registry's referrers API lists an image's checkpoints) and the
 * image-spec's base-image annotations. Pure functions over parsed documents.
 */
import { arch, release } from "node:os";
import { PIER_VERSION } from "../../common/version.js";
import type { Annotations, ImageManifest } from "../../oci/types.js";
import { EngineError } from "../error.js";
import type { ConfigDump } from "./podman-format.js";

/** The annotations of checkpoint images (podman's, CRI-O's and the image-spec's names). */
export const CHECKPOINT_ANNOTATIONS = {
  /** The checkpointed container's name (podman's; what marks an image as a checkpoint). */
  name: "io.podman.annotations.checkpoint.name",
  rawImageName: "io.podman.annotations.checkpoint.rawImageName",
  rootfsImageID: "io.podman.annotations.checkpoint.rootfsImageID",
  rootfsImageName: "io.podman.annotations.checkpoint.rootfsImageName",
  runtimeName: "io.podman.annotations.checkpoint.runtime.name",
  hostArch: "io.podman.annotations.checkpoint.host.arch",
  hostKernel: "io.podman.annotations.checkpoint.host.kernel",
  /** CRI-O's mark of a checkpoint image (the container's name). */
  crioName: "io.kubernetes.cri-o.annotations.checkpoint.name",
  /** checkpointctl's newer, engine-neutral mark (the container's name). */
  criuName: "org.criu.checkpoint.container.name",
  engine: "io.container.manager",
  engineVersion: "io.container.manager.version",
  baseName: "org.opencontainers.image.base.name",
  baseDigest: "org.opencontainers.image.base.digest",
} as const;

/** Go's `GOARCH` name of this machine's architecture (what podman records). */
function goArch(): string {
  const a = arch();
  return a === "x64" ? "amd64" : a === "ia32" ? "386" : a;
}

/**
 * The manifest annotations of a checkpoint image of the container `dump` describes, its image's
 * root digest being `baseDigest` (when known). Pure but for the host's architecture and kernel.
 */
export function checkpointImageAnnotations(dump: ConfigDump, baseDigest: string | undefined): Annotations {
  const a = CHECKPOINT_ANNOTATIONS;
  return {
    [a.name]: dump.name,
    [a.crioName]: dump.name,
    [a.rawImageName]: dump.RawImageName,
    [a.rootfsImageID]: dump.rootfsImageID,
    [a.rootfsImageName]: dump.rootfsImageName,
    [a.runtimeName]: dump.runtime ?? "runc",
    [a.hostArch]: goArch(),
    [a.hostKernel]: release(),
    [a.engine]: "pier",
    [a.engineVersion]: PIER_VERSION,
    [a.baseName]: dump.rootfsImageName,
    ...(baseDigest ? { [a.baseDigest]: baseDigest } : {}),
  };
}

/** The checkpointed container's name when `annotations` mark a checkpoint image. Pure. */
export function checkpointName(annotations: Annotations | undefined): string | undefined {
  const a = CHECKPOINT_ANNOTATIONS;
  return annotations?.[a.name] ?? annotations?.[a.crioName] ?? annotations?.[a.criuName];
}

/**
 * Checks that `manifest` (named `ref`) is a checkpoint image: marked by podman's, CRI-O's or
 * checkpointctl's annotation, with exactly one layer. Pure.
 */
export function checkCheckpointImage(ref: string, manifest: ImageManifest): void {
  if (checkpointName(manifest.annotations) === undefined)
    throw new EngineError(
      "INVALID_ARGUMENT",
      `${ref} is not a checkpoint image (its manifest has no ${CHECKPOINT_ANNOTATIONS.name} annotation)`,
    );
  if (manifest.layers.length !== 1)
    throw new EngineError(
      "INVALID_ARGUMENT",
      `${ref} is not a checkpoint image: it has ${manifest.layers.length} layers, a checkpoint image has one`,
    );
}
