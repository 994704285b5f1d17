/**
 * The registry client's public API, for the CLI (`pier pull/push/copy/login/logout/tags/manifest
 * inspect/referrers/artifact`) and the engine. Everything here verifies digests before content
 * becomes visible and reports progress per blob through `onProgress`.
 */
export { type ArtifactFile, type PushArtifactOptions, pullArtifact, pushArtifact } from "./artifact.js";
export {
  type CredentialOptions,
  type Credentials,
  defaultConfigPath,
  eraseCredentials,
  resolveCredentials,
  storeCredentials,
} from "./auth/credentials.js";
export { type FetchedManifest, RegistryClient, type RegistryClientOptions, referrersTag } from "./client.js";
export { type CopyOptions, type CopyResult, copyImage } from "./copy.js";
export { copy } from "./copy-transports.js";
export { RemoteError, type RemoteErrorCode } from "./error.js";
export { type InspectedManifest, inspectManifest, listReferrers, listTags } from "./inspect.js";
export { login, logout } from "./login.js";
export { clientFor, type RemoteOptions } from "./options.js";
export { type BlobKind, blobKind, type ProgressEvent, type ProgressListener } from "./progress-events.js";
export { pull, push, type TransferOptions } from "./pull.js";
export {
  defaultSources,
  emptyRegistriesConfig,
  loadRegistriesConfig,
  type RegistriesConfig,
  type RegistriesConfSources,
} from "./registries/config.js";
export { insecureRegistries } from "./registries/resolve.js";
export type { ShortNamePrompt } from "./registries/short-names.js";
export { MirroredRegistrySource } from "./registries/source.js";
export { RegistryImage } from "./transports/docker.js";
export { type OpenOptions, openDestination, openSource, storeLayoutDir } from "./transports/open.js";
export { parseTransport, type TransportSpec } from "./transports/parse.js";
export type { ImageDestination, ImageSource, RegistryLocation } from "./transports/types.js";
