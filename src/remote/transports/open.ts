/**
 * Opens a transport string (see `parse.ts`) as something images are copied from or to.
 */
import { join } from "node:path";
import { storeRoot } from "../../image/image-store.js";
import { clientFor, type RemoteOptions } from "../options.js";
import { MirroredRegistrySource } from "../registries/source.js";
import { openArchiveDestination, openArchiveSource } from "./archive.js";
import { RegistryImage } from "./docker.js";
import { LayoutImage } from "./oci-layout.js";
import { parseTransport, type TransportSpec } from "./parse.js";
import type { ImageDestination, ImageSource } from "./types.js";

/** Options of {@link openSource} and {@link openDestination}. */
export interface OpenOptions extends RemoteOptions {
  /** Root of pier's store (`--root`); its layout is `<root>/content`. Default `$PIER_ROOT` or `/var/lib/pier`. */
  storeRoot?: string;
}

/** The OCI layout directory of pier's store under `root`. */
export function storeLayoutDir(root?: string): string {
  return join(storeRoot(root), "content");
}

/** The transports that read and write alike; `undefined` for the archives. */
async function openReadWrite(
  t: TransportSpec,
  opts: OpenOptions,
): Promise<(ImageSource & ImageDestination) | undefined> {
  switch (t.kind) {
    case "docker":
      return new RegistryImage(t.ref, { client: clientFor(t.ref.registry, opts) }).withOwnedClient();
    case "oci":
      return LayoutImage.open(t.dir, t.name);
    case "store":
      return LayoutImage.open(storeLayoutDir(opts.storeRoot), t.ref.toString(), { scheme: "store" });
    default:
      return undefined;
  }
}

/** Opens a transport to read from. Throws `INVALID_TRANSPORT`, `INVALID_REFERENCE`, `NOT_FOUND`. */
export async function openSource(spec: string | TransportSpec, opts: OpenOptions = {}): Promise<ImageSource> {
  const t = typeof spec === "string" ? parseTransport(spec) : spec;
  if (t.kind === "oci-archive" || t.kind === "docker-archive")
    return openArchiveSource(t.kind, t.file, t.name);
  // a registry is read through the configured mirrors, as every pull is
  if (t.kind === "docker") return new MirroredRegistrySource([t.ref], opts);
  return (await openReadWrite(t, opts))!;
}

/** Opens a transport to write to; an archive appears only when the copy completes. */
export async function openDestination(
  spec: string | TransportSpec,
  opts: OpenOptions = {},
): Promise<ImageDestination> {
  const t = typeof spec === "string" ? parseTransport(spec) : spec;
  if (t.kind === "oci-archive" || t.kind === "docker-archive")
    return openArchiveDestination(t.kind, t.file, t.name);
  return (await openReadWrite(t, opts))!;
}
