/**
 * Progress events of a transfer, one stream per blob, for renderers (`src/cli/progress.ts`) and
 * for the engine's event log. Emitting is synchronous and must not throw.
 */
import type { Digest } from "../oci/digest.js";

/** What kind of content a blob is, for display. */
export type BlobKind = "manifest" | "index" | "config" | "layer" | "blob";

/** One progress event. `id` is the blob's digest. */
export type ProgressEvent =
  | { type: "start"; id: Digest; kind: BlobKind; size: number; mediaType: string }
  | { type: "bytes"; id: Digest; transferred: number; size: number }
  | { type: "done"; id: Digest; size: number }
  | { type: "exists"; id: Digest; size: number }
  | { type: "mounted"; id: Digest; size: number; from: string }
  | { type: "manifest"; id: Digest; mediaType: string; tag?: string }
  | { type: "retry"; id?: Digest; attempt: number; delayMs: number; reason: string };

/** Receives progress events. */
export type ProgressListener = (event: ProgressEvent) => void;

/** Kind of a descriptor's content, from its media type. Pure. */
export function blobKind(mediaType: string): BlobKind {
  if (mediaType.includes("manifest.list") || mediaType.endsWith("image.index.v1+json")) return "index";
  if (mediaType.includes("manifest")) return "manifest";
  if (mediaType.includes("config")) return "config";
  if (mediaType.includes("layer") || mediaType.includes("rootfs")) return "layer";
  return "blob";
}
