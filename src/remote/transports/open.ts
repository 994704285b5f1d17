/**
 * Opens a transport string (see `parse.ts`) as something images can be copied from or to.
 */
import { RemoteError } from "../error.js";
import { clientFor, type RemoteOptions } from "../options.js";
import { formatImageRef } from "../ref.js";
import { RegistryImage } from "./docker.js";
import { LayoutImage } from "./oci-layout.js";
import { parseTransport, type TransportSpec } from "./parse.js";
import type { ImageDestination, ImageSource } from "./types.js";

/** Where pier keeps its own images unless told otherwise (an OCI layout named by reference). */
export const DEFAULT_STORE_ROOT = "/var/lib/pier/content";

/** Options of {@link openTransport}. */
export interface OpenOptions extends RemoteOptions {
  /** Root of pier's own store, for bare references. Default {@link DEFAULT_STORE_ROOT}. */
  storeRoot?: string;
}

/** Something that is both a source and a destination (every transport pier has is). */
export type ImageTransport = ImageSource & ImageDestination;

/** Opens a transport, given as a string or already parsed. Throws `INVALID_TRANSPORT`/`UNSUPPORTED`. */
export async function openTransport(
  spec: string | TransportSpec,
  opts: OpenOptions = {},
): Promise<ImageTransport> {
  const t = typeof spec === "string" ? parseTransport(spec) : spec;
  switch (t.kind) {
    case "docker":
      return new RegistryImage(t.ref, { client: clientFor(t.ref.registry, opts) }).withOwnedClient();
    case "oci":
      return LayoutImage.open(t.dir, t.name);
    case "store":
      return LayoutImage.open(opts.storeRoot ?? DEFAULT_STORE_ROOT, formatImageRef(t.ref), {
        scheme: "store",
      });
    case "oci-archive":
    case "docker-archive":
      throw new RemoteError("UNSUPPORTED", `${t.kind}: transport not available yet in this build`);
  }
}
