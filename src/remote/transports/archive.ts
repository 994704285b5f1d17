/**
 * The `oci-archive:FILE[:NAME]` and `docker-archive:FILE[:REF]` transports, over the archive
 * module: a source is the archive imported (verified) into a private layout; a destination is a
 * private layout that becomes the archive on `commit`, so a failed copy leaves no file behind.
 */
import { join } from "node:path";
import { checkRefName } from "../../content/index-refs.js";
import { createArchiveStaging, stageArchive } from "../../image/archive/staging.js";
import { RemoteError } from "../error.js";
import { LayoutImage } from "./oci-layout.js";
import type { ImageDestination, ImageSource } from "./types.js";

/** Which archive format, as the transport names it. */
export type ArchiveKind = "oci-archive" | "docker-archive";

function format(kind: ArchiveKind): "oci" | "docker" {
  return kind === "oci-archive" ? "oci" : "docker";
}

/** Opens an archive file as a source; closing it removes the staging layout. */
export async function openArchiveSource(
  kind: ArchiveKind,
  file: string,
  name?: string,
): Promise<ImageSource> {
  const staged = await stageArchive(file, {});
  try {
    let pick = name;
    if (pick === undefined) {
      if (staged.images.length !== 1) {
        throw new RemoteError("NOT_FOUND", `${kind}:${file}: holds ${staged.images.length} images; name one`);
      }
      pick = staged.images[0]!.name;
    }
    const image = await LayoutImage.open(staged.dir, pick, { scheme: kind });
    const close = image.close.bind(image);
    image.close = async () => {
      await close();
      await staged.cleanup();
    };
    return image;
  } catch (err) {
    await staged.cleanup();
    throw err;
  }
}

/**
 * Opens an archive file as a destination, written only by `commit` (after a successful copy).
 * A docker archive needs a reference (`docker-archive:FILE:busybox:1`) for its `RepoTags`.
 */
export async function openArchiveDestination(
  kind: ArchiveKind,
  file: string,
  name?: string,
): Promise<ImageDestination> {
  if (kind === "docker-archive" && name === undefined) {
    throw new RemoteError(
      "INVALID_TRANSPORT",
      `docker-archive:${file}: name the image (docker-archive:FILE:NAME[:TAG])`,
    );
  }
  const refName = name ?? "latest";
  checkRefName(refName);
  const staging = await createArchiveStaging(format(kind), file, join(file, ".."));
  const image = await LayoutImage.open(staging.dir, refName, { scheme: kind });
  let committed = false;
  image.commit = async () => {
    await staging.commit([refName]);
    committed = true;
  };
  image.close = async () => {
    if (!committed) await staging.cleanup();
  };
  return image;
}
