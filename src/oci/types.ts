/**
 * TypeScript shapes of the image-spec documents. Validation of untrusted JSON into these
 * shapes lives in `validate.ts`; these are the types every layer passes around.
 */
import type { Digest } from "./digest.js";

/** String-to-string annotations (image-spec `annotations.md`). */
export type Annotations = Record<string, string>;

/** A platform, as in an index entry or an image config (image-spec `image-index.md`). */
export interface Platform {
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
  features?: string[];
}

/** A content descriptor (image-spec `descriptor.md`). */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Annotations;
  data?: string;
  artifactType?: string;
  platform?: Platform;
}

/** An OCI image manifest (`manifest.md`), or a Docker schema 2 manifest (same shape). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Annotations;
}

/** An OCI image index (`image-index.md`), or a Docker manifest list (same shape). */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Annotations;
}

/** The execution parameters of an image config (`config.md`, field `config`). */
export interface ImageExecConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Memory?: number;
  MemorySwap?: number;
  CpuShares?: number;
  Healthcheck?: Record<string, unknown>;
  OnBuild?: string[] | null;
  Shell?: string[];
}

/** One entry of an image config's `history`. */
export interface HistoryEntry {
  created?: string;
  author?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** An image config (`config.md`); Docker's config has the same shape plus extra fields. */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
  config?: ImageExecConfig;
  rootfs: { type: "layers"; diff_ids: Digest[] };
  history?: HistoryEntry[];
  [extra: string]: unknown;
}

/** The `oci-layout` file (`image-layout.md`). */
export interface OciLayoutHeader {
  imageLayoutVersion: string;
}
