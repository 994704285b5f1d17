/**
 * The registry server's public API, for the CLI (`pier registry serve|gc|htpasswd`) and for
 * programs that embed a registry.
 */
export type { AccessPolicy, AccessRule, RepoAction } from "./auth/access.js";
export type { AuthMode } from "./auth/authorizer.js";
export { htpasswdSet } from "./auth/htpasswd.js";
export {
  defaultRegistryConfig,
  loadRegistryConfig,
  type RegistryConfig,
  type RegistryConfigInput,
} from "./config.js";
export { RegistryError, type RegistryErrorCode } from "./errors.js";
export { type RegistryGcOptions, type RegistryGcReport, registryGc } from "./gc.js";
export { type RunningRegistry, type StartRegistryOptions, startRegistry } from "./server.js";
