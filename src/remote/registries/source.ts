/**
 * The `docker://` source every pull reads through: it asks the registries configuration for the
 * ordered endpoints of the reference (each short-name candidate in turn), takes the first whose
 * manifest arrives verified, and reads everything else from that one endpoint, as containers/image
 * does. A mirror's failure costs one warning line; the last endpoint's error is what the user sees.
 */
import type { Readable } from "node:stream";
import type { Digest } from "../../oci/digest.js";
import type { Reference } from "../../oci/reference.js";
import type { Descriptor } from "../../oci/types.js";
import type { BytesCallback, FetchedManifest } from "../client.js";
import { RemoteError } from "../error.js";
import { clientFor, isInsecure, type RemoteOptions } from "../options.js";
import type { ProgressListener } from "../progress-events.js";
import type { RetryPolicy } from "../retry.js";
import { RegistryImage } from "../transports/docker.js";
import type { ImageSource, RegistryLocation } from "../transports/types.js";
import { emptyRegistriesConfig } from "./config.js";
import { certsDirTls } from "./hosts-dir.js";
import { type PullEndpoint, pullEndpoints } from "./resolve.js";

/** A dead mirror must not cost a minute of backoff before the next one is asked. */
const MIRROR_RETRY: RetryPolicy = { retries: 2, baseDelayMs: 100, maxDelayMs: 1000 };

/** One way to try: the name the image gets, and where its bytes come from. */
interface Attempt {
  logical: Reference;
  endpoint: PullEndpoint;
  /** `https` then, for an insecure endpoint that refused TLS, `http`. */
  scheme: "https" | "http";
  skipVerify: boolean;
}

/** Reads an image through the configured mirrors; see the module comment. */
export class MirroredRegistrySource implements ImageSource {
  readonly name: string;
  private image: RegistryImage | undefined;
  private chosen: Reference | undefined;
  private readonly attempts: Attempt[];

  /** `candidates` are the logical references to try in order (one unless a short name was searched). */
  constructor(
    candidates: readonly Reference[],
    private readonly opts: RemoteOptions & { onProgress?: ProgressListener } = {},
  ) {
    if (candidates.length === 0) throw new RemoteError("INVALID_REFERENCE", "no reference to pull");
    this.name = `docker://${candidates[0]!.toString()}`;
    const config = opts.registries ?? emptyRegistriesConfig();
    this.attempts = [];
    let blocked: RemoteError | undefined;
    for (const logical of candidates) {
      let endpoints: PullEndpoint[];
      try {
        endpoints = pullEndpoints(config, logical);
      } catch (err) {
        if (err instanceof RemoteError && err.code === "REGISTRY_BLOCKED") {
          blocked ??= err;
          continue;
        }
        throw err;
      }
      for (const endpoint of endpoints) {
        if (endpoint.host) {
          // a hosts.toml endpoint is an exact URL: its scheme is the one to use
          const scheme = endpoint.host.origin.startsWith("http:") ? "http" : "https";
          this.attempts.push({ logical, endpoint, scheme, skipVerify: endpoint.host.skipVerify });
          continue;
        }
        // registries.conf's `insecure` allows unverified TLS and plain HTTP: try TLS first, as containers/image
        const cliInsecure = isInsecure(endpoint.ref.registry, opts.insecure);
        if (endpoint.insecure && !cliInsecure) {
          this.attempts.push({ logical, endpoint, scheme: "https", skipVerify: true });
          this.attempts.push({ logical, endpoint, scheme: "http", skipVerify: false });
        } else {
          this.attempts.push({
            logical,
            endpoint,
            scheme: cliInsecure ? "http" : "https",
            skipVerify: false,
          });
        }
      }
    }
    if (this.attempts.length === 0) throw blocked ?? new RemoteError("INVALID_REFERENCE", "nothing to pull");
  }

  /** The logical reference the image was found under (after {@link getManifest}). */
  get resolved(): Reference | undefined {
    return this.chosen;
  }

  /** The endpoint actually read from (a mirror's or the upstream's), after {@link getManifest}. */
  get chosenImage(): RegistryImage | undefined {
    return this.image;
  }

  /** The registry location actually read from (a mirror's), for mounts on the same registry. */
  get location(): RegistryLocation | undefined {
    return this.image?.location;
  }

  private open(a: Attempt): RegistryImage {
    const o: RemoteOptions & { apiRoot?: string } = { ...this.opts, insecure: a.scheme === "http" };
    if (a.endpoint.mirror && !this.opts.retry) o.retry = MIRROR_RETRY;
    if (a.skipVerify) o.skipVerify = true;
    const registry = a.endpoint.ref.registry;
    const certsDir = this.opts.registries?.certsDir;
    // Docker's certs.d for the host actually connected to, then hosts.toml's own ca/client
    const tls = certsDir ? certsDirTls(certsDir, registry) : undefined;
    const h = a.endpoint.host;
    const ca = [...(tls?.ca ?? []), ...(h?.ca ?? []), ...extraCa(this.opts.caCert)];
    if (ca.length) o.caCert = ca;
    const clientCert = h?.client ?? tls?.client;
    if (clientCert) o.clientCert = clientCert;
    if (h && Object.keys(h.headers).length) o.headers = { ...this.opts.headers, ...h.headers };
    if (h) o.apiRoot = h.apiRoot;
    return new RegistryImage(a.endpoint.ref, { client: clientFor(registry, o) }).withOwnedClient();
  }

  async getManifest(digest?: Digest): Promise<FetchedManifest> {
    if (this.image) return this.image.getManifest(digest);
    let lastError: unknown;
    for (const [i, a] of this.attempts.entries()) {
      const image = this.open(a);
      try {
        const m = await image.getManifest(digest);
        this.image = image;
        this.chosen = a.logical;
        return m;
      } catch (err) {
        await image.close();
        lastError = err;
        const next = this.attempts[i + 1];
        const sameEndpoint = next && next.endpoint === a.endpoint;
        if (next && !sameEndpoint && a.endpoint.mirror) {
          this.warn(
            `mirror ${a.endpoint.ref.toString()} of ${a.logical.toString()} failed, trying the next source: ${(err as Error).message}`,
          );
        }
      }
    }
    throw lastError;
  }

  private warn(message: string): void {
    if (this.opts.onWarning) this.opts.onWarning(message);
    else process.stderr.write(`warning: ${message}\n`);
  }

  private pinned(): RegistryImage {
    if (!this.image)
      throw new RemoteError("INVALID_RESPONSE", `${this.name}: blob asked before the manifest`);
    return this.image;
  }

  getBlob(desc: Descriptor, onBytes?: BytesCallback, opts?: { verify?: boolean }): Promise<Readable> {
    return this.pinned().getBlob(desc, onBytes, opts);
  }

  listReferrers(digest: Digest): Promise<Descriptor[]> {
    return this.pinned().listReferrers(digest);
  }

  async close(): Promise<void> {
    await this.image?.close();
  }
}

function extraCa(ca: RemoteOptions["caCert"]): (string | Buffer)[] {
  if (ca === undefined) return [];
  return Array.isArray(ca) ? [...ca] : [ca as string | Buffer];
}
