/**
 * Whiteout names (image-spec `layer.md#whiteouts`), spelled in one place.
 */

/** Prefix of a whiteout entry: `.wh.<name>` removes `<name>` of lower layers. */
export const WHITEOUT_PREFIX = ".wh.";

/** Basename of an opaque whiteout: hides every lower-layer child of its directory. */
export const OPAQUE_WHITEOUT = ".wh..wh..opq";

/** The whiteout entry path that removes `path` (`a/b` -> `a/.wh.b`). */
export function whiteoutPathFor(path: string): string {
  const i = path.lastIndexOf("/");
  return i === -1
    ? `${WHITEOUT_PREFIX}${path}`
    : `${path.slice(0, i + 1)}${WHITEOUT_PREFIX}${path.slice(i + 1)}`;
}

/** The opaque whiteout entry path for directory `dir`. */
export function opaquePathFor(dir: string): string {
  return dir === "" ? OPAQUE_WHITEOUT : `${dir}/${OPAQUE_WHITEOUT}`;
}

/** The xattr overlayfs marks an opaque directory with (value `y`). */
export const OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque";

/** Prefix of overlayfs's private xattrs, never carried in a layer. */
export const OVERLAY_XATTR_PREFIX = "trusted.overlay.";
