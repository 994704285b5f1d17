/**
 * `pull` and `push`: copies between a registry and pier's store (or any layout), named by the
 * full reference, as `pier pull`/`pier push` and the engine use them.
 */
import { type Reference, toReference } from "../oci/reference.js";
import { type CopyOptions, type CopyResult, copyImage } from "./copy.js";
import { clientFor, type RemoteOptions } from "./options.js";
import { RegistryImage } from "./transports/docker.js";
import { LayoutImage } from "./transports/oci-layout.js";
import { storeLayoutDir } from "./transports/open.js";

/** Options of {@link pull} and {@link push}. */
export interface TransferOptions extends RemoteOptions, CopyOptions {
  /** Root of pier's store (`--root`, its layout is `<root>/content`); default `$PIER_ROOT` or `/var/lib/pier`. */
  storeRoot?: string;
  /** Name in the store; default the normalised reference (`docker.io/library/busybox:latest`). */
  localName?: string;
}

/**
 * Pulls `ref` from its registry into the store: blobs verified before they become visible, the
 * host's platform picked from an index unless `platform`/`allPlatforms` says otherwise.
 */
export async function pull(ref: string | Reference, opts: TransferOptions = {}): Promise<CopyResult> {
  const r = toReference(ref);
  const src = new RegistryImage(r, { client: clientFor(r.registry, opts) }).withOwnedClient();
  const dst = await LayoutImage.open(storeLayoutDir(opts.storeRoot), opts.localName ?? r.toString(), {
    scheme: "store",
  });
  try {
    return await copyImage(src, dst, opts);
  } finally {
    await src.close();
    await dst.close();
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
