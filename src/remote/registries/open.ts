/**
 * Opens the source of a pull from what the user wrote: a short name resolved (aliases, search
 * registries, a prompt on a terminal), then every candidate's endpoints in order.
 */
import { type Reference, toReference } from "../../oci/reference.js";
import type { RemoteOptions } from "../options.js";
import type { ProgressListener } from "../progress-events.js";
import { emptyRegistriesConfig } from "./config.js";
import { resolveShortName, type ShortNamePrompt } from "./short-names.js";
import { MirroredRegistrySource } from "./source.js";

/** Options of {@link openPullSource}. */
export interface PullSourceOptions extends RemoteOptions {
  onProgress?: ProgressListener;
  /** Asks the user to choose a search registry; only given when stdin and stdout are terminals. */
  prompt?: ShortNamePrompt;
}

/**
 * The source for pulling `ref`. A `Reference` (already qualified) skips short-name resolution;
 * a string naming no registry is resolved with `opts.registries`.
 */
export async function openPullSource(
  ref: string | Reference,
  opts: PullSourceOptions = {},
): Promise<MirroredRegistrySource> {
  if (typeof ref !== "string") return new MirroredRegistrySource([ref], opts);
  const config = opts.registries ?? emptyRegistriesConfig();
  const { candidates } = await resolveShortName(config, ref, opts.prompt);
  return new MirroredRegistrySource(candidates.length ? candidates : [toReference(ref)], opts);
}
