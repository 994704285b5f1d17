/**
 * `pull` and `push`: copies between a registry and pier's store (or any layout), named by the
 * full reference, as `pier pull`/`pier push` and the engine use them.
 */
import { type Reference, toReference } from "../oci/reference.js";
import { type CopyOptions, type CopyResult, copyImage } from "./copy.js";
import { clientFor, type RemoteOptions } from "./options.js";
import { openPullSource } from "./registries/open.js";
import type { ShortNamePrompt } from "./registries/short-names.js";
import { RegistryImage } from "./transports/docker.js";
import { LayoutImage } from "./transports/oci-layout.js";
import { storeLayoutDir } from "./transports/open.js";

/** Options of {@link pull} and {@link push}. */
export interface TransferOptions extends RemoteOptions, CopyOptions {
  /** Root of pier's store (`--root`, its layout is `<root>/content`); default `$PIER_ROOT` or `/var/lib/pier`. */
  storeRoot?: string;
  /** Name in the store; default the normalised reference (`docker.io/library/busybox:latest`). */
  localName?: string;
  /** Asks the user to pick a search registry for an ambiguous short name (a terminal only). */
  prompt?: ShortNamePrompt;
}

/** What {@link pull} copied, and the full name the image got (a short name resolved). */
export interface PullResult extends CopyResult {
  name: string;
}

/**
 * Pulls `ref` into the store through the configured mirrors (`opts.registries`; a short name is
 * resolved as podman does): blobs verified before they become visible, the host's platform
 * picked from an index unless `platform`/`allPlatforms` says otherwise. The image is named by
 * the logical reference, never by the mirror it came from.
 */
export async function pull(ref: string | Reference, opts: TransferOptions = {}): Promise<PullResult> {
  const src = await openPullSource(ref, opts);
  try {
    // the manifest is fetched first so that the store name is the candidate that answered
    await src.getManifest();
    const name = opts.localName ?? src.resolved!.toString();
    const dst = await LayoutImage.open(storeLayoutDir(opts.storeRoot), name, { scheme: "store" });
    try {
      return { ...(await copyImage(src, dst, opts)), name };
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
}

/** Pushes the store's image named `ref` (or `localName`) to the registry `ref` names. */
export async function push(ref: string | Reference, opts: TransferOptions = {}): Promise<CopyResult> {
  const r = toReference(ref);
  const src = await LayoutImage.open(storeLayoutDir(opts.storeRoot), opts.localName ?? r.toString(), {
    scheme: "store",
  });
  const dst = new RegistryImage(r, { client: clientFor(r.registry, opts) }).withOwnedClient();
  try {
    return await copyImage(src, dst, { ...opts, allPlatforms: true });
  } finally {
    await src.close();
    await dst.close();
  }
}
