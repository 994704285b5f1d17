/**
 * Read-only registry queries behind `pier tags`, `pier manifest inspect` and `pier referrers`.
 */
import { type Reference, toReference } from "../oci/reference.js";
import type { Descriptor } from "../oci/types.js";
import { type ManifestOrIndex, parseManifestOrIndex } from "../oci/validate.js";
import type { FetchedManifest } from "./client.js";
import { RemoteError } from "./error.js";
import { clientFor, type RemoteOptions } from "./options.js";
import { MirroredRegistrySource } from "./registries/source.js";

/** Every tag of the repository `repo` names (its tag or digest, if any, is ignored). */
export async function listTags(repo: string | Reference, opts: RemoteOptions = {}): Promise<string[]> {
  const r = toReference(repo);
  const client = clientFor(r.registry, opts);
  try {
    return await client.listTags(r.repository);
  } finally {
    await client.close();
  }
}

/** A manifest or index as the registry serves it: raw bytes (for `--raw`), digest, and parsed. */
export interface InspectedManifest extends FetchedManifest {
  parsed: ManifestOrIndex;
}

/** Fetches and parses the manifest `ref` names; the bytes are verified against the digest. */
export async function inspectManifest(
  ref: string | Reference,
  opts: RemoteOptions = {},
): Promise<InspectedManifest> {
  const src = new MirroredRegistrySource([toReference(ref)], opts);
  try {
    const m = await src.getManifest();
    let parsed: ManifestOrIndex;
    try {
      parsed = parseManifestOrIndex(m.bytes, m.mediaType);
    } catch (err) {
      throw new RemoteError("INVALID_RESPONSE", `${m.digest}: ${(err as Error).message}`, { cause: err });
    }
    return { ...m, parsed };
  } finally {
    await src.close();
  }
}

/**
 * The referrers of the manifest `ref` names (resolving a tag to its digest first), through the
 * referrers API or the fallback tag; `api` says which answered.
 */
export async function listReferrers(
  ref: string | Reference,
  opts: RemoteOptions & { artifactType?: string } = {},
): Promise<{ subject: string; referrers: Descriptor[]; api: boolean }> {
  const r = toReference(ref);
  const client = clientFor(r.registry, opts);
  try {
    const digest = r.digest ?? (await client.getManifest(r.repository, r.identifier)).digest;
    const { index, api } = await client.listReferrers(r.repository, digest, opts.artifactType);
    return { subject: digest, referrers: index.manifests, api };
  } finally {
    await client.close();
  }
}
