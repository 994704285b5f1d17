/**
 * Docker archives (`docker save` / `docker load`): import in `docker-import.ts`, export in
 * `docker-export.ts`. This module gathers both for callers that want one import path.
 */

export { type DockerExportOptions, exportDockerArchive } from "./docker-export.js";
export {
  type ArchiveScan,
  importDockerArchive,
  importScannedDockerArchive,
  scanArchive,
} from "./docker-import.js";
