/**
 * The reports of the engine's removals, as pier's API sends them and the CLI prints them. Types
 * only: the CLI imports them without any of the engine.
 */

/** One step of a removal: a name taken away, or an image deleted. */
export type ImageDeletion = { untagged: string } | { deleted: string };

/** What a prune removed and the bytes it freed. */
export interface PruneReport<T> {
  deleted: T[];
  spaceReclaimed: number;
}

/** What `system prune` removed. */
export interface SystemPruneReport {
  containersDeleted: string[];
  /** Names of the networks removed. */
  networksDeleted: string[];
  imagesDeleted: ImageDeletion[];
  volumesDeleted: string[];
  spaceReclaimed: number;
}
