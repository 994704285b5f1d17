/**
 * The compression a layer declares by its media type (or a caller's explicit choice). A module
 * of its own, free of the codecs, so that the apply thread can start its decompressing thread
 * before it loads the applier's modules (`apply-thread-main.ts`).
 */
import { type Compression, layerCompression } from "../oci/media-types.js";
import { LayerError } from "./error.js";

/** The compression of a layer media type, or throws `LayerError` `UNSUPPORTED_COMPRESSION`. */
export function compressionForMediaType(mediaType: string): Compression {
  const c = layerCompression(mediaType);
  if (!c)
    throw new LayerError("UNSUPPORTED_COMPRESSION", `not a layer media type: ${JSON.stringify(mediaType)}`);
  return c;
}

/**
 * The compression `options` declare: the media type's when there is one, else `compression`
 * (default `none`). Throws `UNSUPPORTED_COMPRESSION` for a media type that is not a layer's.
 */
export function declaredCompression(options: { mediaType?: string; compression?: Compression }): Compression {
  return options.mediaType ? compressionForMediaType(options.mediaType) : (options.compression ?? "none");
}
