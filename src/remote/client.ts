/**
 * The distribution-spec client: one {@link RegistryClient} per registry host, holding a pooled
 * connection, the learned auth challenge and a token cache. Every manifest and blob it hands
 * out is verified against its digest; downloads resume with `Range` after a broken connection;
 * uploads skip blobs the registry has, mount across repositories, and go monolithic or chunked.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { Digest } from "../oci/digest.js";
import { digestHex, digestOf, parseDigest } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import { registryApiHost } from "../oci/reference.js";
import type { Descriptor, ImageIndex } from "../oci/types.js";
import { type Challenge, parseChallenges } from "./auth/challenge.js";
import { type CredentialOptions, type Credentials, resolveCredentials } from "./auth/credentials.js";
import { fetchToken, TokenCache, type TokenRequest } from "./auth/token.js";
import { countBytes } from "./counting.js";
import { RemoteError, type RemoteErrorCode } from "./error.js";
import { type BodyFactory, HttpClient, type HttpOptions, type HttpResponse, header } from "./http.js";
import { isRetryableNetworkError } from "./retry.js";

/** Every manifest media type pier asks for, most specific first. */
export const MANIFEST_ACCEPT: readonly string[] = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
];

/** Manifests larger than this are refused (distribution's own limit is 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** How a client reaches and authenticates to one registry. */
export interface RegistryClientOptions extends HttpOptions, CredentialOptions {
  /** Talk plain HTTP. Only when the user says so; pier never downgrades on its own. */
  insecure?: boolean;
  /** Credentials to use; `null` forces anonymous; omitted means look them up (config.json, helpers). */
  credentials?: Credentials | null;
  /** Blobs up to this size are uploaded in one `PUT`. Default 4 MiB. */
  monolithicMaxBytes?: number;
  /** Chunk size for larger uploads; 0 (default) streams the blob in one `PATCH`. */
  chunkSize?: number;
  /**
   * The URL standing for `/v2` (hosts.toml's `https://mirror/path` with `override_path`, or
   * `…/path/v2` without); default `<baseUrl>/v2`.
   */
  apiRoot?: string;
}

/** A manifest as fetched: raw bytes (digests depend on them), media type and verified digest. */
export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

/** Per-blob byte progress callback: total bytes moved so far for this blob. */
export type BytesCallback = (transferred: number) => void;

/** How an upload ended. */
export type UploadResult = "uploaded" | "exists" | "mounted";

/** Maps a registry's HTTP status to a stable error code. Pure. */
export function errorCodeForStatus(status: number): RemoteErrorCode {
  if (status === 401) return "UNAUTHORIZED";
  if (status === 403) return "DENIED";
  if (status === 404) return "NOT_FOUND";
  if (status === 429) return "TOO_MANY_REQUESTS";
  return "REGISTRY_ERROR";
}

/** Builds the error for an unexpected response, reading the spec's error body when there is one. */
async function responseError(res: HttpResponse, what: string): Promise<RemoteError> {
  let text = "";
  const body = res.body as HttpResponse["body"] & { bodyUsed?: boolean };
  if (!body.bodyUsed && !body.destroyed && !body.readableEnded) {
    try {
      text = (await body.text()).slice(0, 2000);
    } catch {
      // the body is only a hint
    }
  }
  let detail = text.trim();
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    if (Array.isArray(parsed.errors) && parsed.errors.length) {
      detail = parsed.errors.map((e) => `${e.code ?? "ERROR"}: ${e.message ?? ""}`).join("; ");
    }
  } catch {
    // not JSON: keep the text
  }
  const hint =
    res.status === 401
      ? ": credentials missing or refused (see `pier login`)"
      : res.status === 403
        ? ": access denied"
        : "";
  return new RemoteError(
    errorCodeForStatus(res.status),
    `${what}: HTTP ${res.status}${hint}${detail ? ` (${detail})` : ""}`,
    { detail: { status: res.status } },
  );
}

/** The `rel="next"` target of a `Link` header, resolved against `base`. Pure. */
export function nextLink(link: string | undefined, base: string): string | undefined {
  if (!link) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  return m ? new URL(m[1]!, base).toString() : undefined;
}

/** Scopes for pulling from, and pushing to, a repository. */
export function repoScope(repo: string, actions: "pull" | "pull,push"): string {
  return `repository:${repo}:${actions}`;
}

/** A client for one registry. Safe to share between concurrent transfers. */
export class RegistryClient {
  /** The registry name as the user wrote it (`docker.io`, `localhost:5000`). */
  readonly registry: string;
  /** `https://host` or, for an insecure registry, `http://host`. */
  readonly baseUrl: string;
  private readonly http: HttpClient;
  private readonly opts: RegistryClientOptions;
  private readonly tokens = new TokenCache();
  private challenge: Challenge | undefined;
  private creds: Promise<Credentials | undefined> | undefined;
  private pinged: Promise<void> | undefined;

  constructor(registry: string, opts: RegistryClientOptions = {}) {
    this.registry = registry;
    this.opts = opts;
    this.baseUrl = opts.apiRoot
      ? new URL(opts.apiRoot).origin
      : `${opts.insecure ? "http" : "https"}://${registryApiHost(registry)}`;
    this.http = new HttpClient(opts);
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await this.http.close();
  }

  private credentials(): Promise<Credentials | undefined> {
    if (this.opts.credentials === null) return Promise.resolve(undefined);
    if (this.opts.credentials) return Promise.resolve(this.opts.credentials);
    this.creds ??= resolveCredentials(this.registry, this.opts);
    return this.creds;
  }

  private tokenRequest(scopes: string[]): TokenRequest | undefined {
    const c = this.challenge;
    if (c?.scheme !== "bearer" || !c.params["realm"]) return undefined;
    const req: TokenRequest = { realm: c.params["realm"], scopes };
    if (c.params["service"]) req.service = c.params["service"];
    return req;
  }

  private async authorization(scopes: string[]): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === "basic") {
      const creds = await this.credentials();
      if (creds?.username === undefined) return undefined;
      return `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ""}`).toString("base64")}`;
    }
    const treq = this.tokenRequest(scopes);
    if (!treq) return undefined;
    const creds = await this.credentials();
    const token = await this.tokens.get(treq, () =>
      fetchToken(this.http, treq, creds, { allowHttp: this.opts.insecure === true }),
    );
    return `Bearer ${token.token}`;
  }

  /**
   * Sends one request to the registry with authentication: learns the challenge from a 401,
   * fetches or renews a token, and retries once. The caller owns the returned body.
   */
  async request(req: {
    method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
    path: string;
    scopes: string[];
    headers?: Record<string, string>;
    body?: BodyFactory;
    noRetry?: boolean;
  }): Promise<HttpResponse> {
    const url = /^https?:\/\//.test(req.path)
      ? req.path
      : this.opts.apiRoot && req.path.startsWith("/v2/")
        ? `${this.opts.apiRoot}${req.path.slice(3)}`
        : `${this.baseUrl}${req.path}`;
    if (new URL(url).origin !== new URL(this.baseUrl).origin && !url.startsWith(this.baseUrl)) {
      // A Location on another host (a storage redirect for uploads) gets no registry credentials.
      return this.http.send({ ...req, url, headers: req.headers ?? {} });
    }
    // Learn the auth scheme first (as docker does), so that no upload body is sent only to be refused.
    if (req.path !== "/v2/") {
      this.pinged ??= this.ping().catch(() => undefined);
      await this.pinged;
    }
    for (let round = 0; ; round++) {
      const headers: Record<string, string> = { ...req.headers };
      const auth = await this.authorization(req.scopes);
      if (auth) headers["authorization"] = auth;
      const res = await this.http.send({ ...req, url, headers });
      if (res.status !== 401 || round > 0) return res;
      const challenges = parseChallenges(res.headers["www-authenticate"]);
      const chosen =
        challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic");
      if (!chosen) return res;
      const hadAuth = auth !== undefined;
      const sameScheme = this.challenge?.scheme === chosen.scheme;
      this.challenge = chosen;
      if (chosen.scheme === "bearer") {
        const treq = this.tokenRequest(req.scopes);
        if (treq) this.tokens.invalidate(treq);
      } else if (hadAuth && sameScheme) {
        return res; // Basic credentials were sent and refused: asking again cannot help.
      }
      await res.body.dump().catch(() => undefined);
    }
  }

  /** Checks that the registry speaks the v2 API (`GET /v2/`), authenticating when challenged. */
  async ping(): Promise<void> {
    const res = await this.request({ method: "GET", path: "/v2/", scopes: [] });
    if (res.status !== 200) throw await responseError(res, `${this.registry}: ping`);
    await res.body.dump();
  }

  /**
   * Fetches a manifest by tag or digest. Verifies the bytes against the requested digest, or
   * against `Docker-Content-Digest` for a tag; refuses bodies over {@link MAX_MANIFEST_BYTES}.
   */
  async getManifest(
    repo: string,
    reference: string,
    accept: readonly string[] = MANIFEST_ACCEPT,
  ): Promise<FetchedManifest> {
    const what = `${this.registry}/${repo}:${reference}: manifest`;
    const res = await this.request({
      method: "GET",
      path: `/v2/${repo}/manifests/${reference}`,
      scopes: [repoScope(repo, "pull")],
      headers: { accept: accept.join(", ") },
    });
    if (res.status !== 200) throw await responseError(res, what);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_MANIFEST_BYTES) {
        res.body.destroy();
        throw new RemoteError("TOO_LARGE", `${what}: larger than ${MAX_MANIFEST_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
    const bytes = Buffer.concat(chunks);
    const expected = reference.includes(":") ? reference : header(res, "docker-content-digest");
    const algorithm = expected ? parseDigest(expected, what).algorithm : "sha256";
    const digest = digestOf(bytes, algorithm);
    if (expected && expected !== digest) {
      throw new RemoteError("DIGEST_MISMATCH", `${what}: registry sent ${digest}, expected ${expected}`, {
        detail: { expected, actual: digest },
      });
    }
    let mediaType = header(res, "content-type")?.split(";")[0]?.trim() ?? "";
    try {
      const parsed = JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown };
      if (typeof parsed.mediaType === "string") mediaType = parsed.mediaType;
    } catch (err) {
      throw new RemoteError("INVALID_RESPONSE", `${what}: not JSON`, { cause: err });
    }
    return { bytes, mediaType, digest };
  }

  /** `HEAD` of a manifest: its descriptor, or `undefined` when absent. */
  async headManifest(repo: string, reference: string): Promise<Descriptor | undefined> {
    const res = await this.request({
      method: "HEAD",
      path: `/v2/${repo}/manifests/${reference}`,
      scopes: [repoScope(repo, "pull")],
      headers: { accept: MANIFEST_ACCEPT.join(", ") },
    });
    await res.body.dump();
    if (res.status === 404) return undefined;
    if (res.status !== 200)
      throw await responseError(res, `${this.registry}/${repo}:${reference}: manifest HEAD`);
    const digest = header(res, "docker-content-digest");
    if (!digest) return undefined;
    return {
      mediaType: header(res, "content-type")?.split(";")[0] ?? "",
      digest: digest as Digest,
      size: Number(header(res, "content-length") ?? 0),
    };
  }

  /**
   * Uploads a manifest under a tag or its digest. `subjectProcessed` is true when the registry
   * answered `OCI-Subject`, i.e. it indexes referrers itself (no fallback tag needed).
   */
  async putManifest(
    repo: string,
    reference: string,
    bytes: Buffer,
    mediaType: string,
  ): Promise<{ digest: Digest; subjectProcessed: boolean }> {
    const res = await this.request({
      method: "PUT",
      path: `/v2/${repo}/manifests/${reference}`,
      scopes: [repoScope(repo, "pull,push")],
      headers: { "content-type": mediaType },
      body: () => bytes,
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) {
      throw await responseError(res, `${this.registry}/${repo}:${reference}: manifest PUT`);
    }
    await res.body.dump();
    return { digest: digestOf(bytes), subjectProcessed: header(res, "oci-subject") !== undefined };
  }

  /** Deletes a manifest by digest. */
  async deleteManifest(repo: string, digest: Digest): Promise<void> {
    const res = await this.request({
      method: "DELETE",
      path: `/v2/${repo}/manifests/${digest}`,
      scopes: [repoScope(repo, "pull,push")],
    });
    if (res.status !== 202 && res.status !== 200) throw await responseError(res, `${repo}@${digest}: delete`);
    await res.body.dump();
  }

  /** True when the repository has the blob (`HEAD`). */
  async hasBlob(repo: string, digest: Digest): Promise<boolean> {
    const res = await this.request({
      method: "HEAD",
      path: `/v2/${repo}/blobs/${digest}`,
      scopes: [repoScope(repo, "pull")],
    });
    await res.body.dump();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await responseError(res, `${this.registry}/${repo}@${digest}: blob HEAD`);
  }

  /**
   * A blob as a stream of verified bytes. A connection that breaks is resumed with `Range` from
   * the last byte received (up to `maxResumes` times); the stream errors with `DIGEST_MISMATCH` or
   * `SIZE_MISMATCH` when the bytes are not the blob's, so a consumer never commits them.
   * `start` > 0 continues a partial download, and `verify: false` skips hashing: then the caller
   * verifies the whole blob (as a content store's ingest does).
   */
  getBlob(
    repo: string,
    desc: Pick<Descriptor, "digest" | "size">,
    opts: { start?: number; onBytes?: BytesCallback; maxResumes?: number; verify?: boolean } = {},
  ): Readable {
    return Readable.from(this.blobChunks(repo, desc, opts), { objectMode: false, highWaterMark: 1 << 20 });
  }

  private async *blobChunks(
    repo: string,
    desc: Pick<Descriptor, "digest" | "size">,
    opts: { start?: number; onBytes?: BytesCallback; maxResumes?: number; verify?: boolean },
  ): AsyncGenerator<Buffer> {
    const what = `${this.registry}/${repo}@${desc.digest}`;
    const start = opts.start ?? 0;
    const { algorithm } = parseDigest(desc.digest, what);
    const hash = start === 0 && opts.verify !== false ? createHash(algorithm) : undefined;
    let offset = start;
    let resumes = 0;
    const maxResumes = opts.maxResumes ?? 10;
    for (;;) {
      const headers: Record<string, string> = {};
      if (offset > 0) headers["range"] = `bytes=${offset}-`;
      const res = await this.request({
        method: "GET",
        path: `/v2/${repo}/blobs/${desc.digest}`,
        scopes: [repoScope(repo, "pull")],
        headers,
      });
      if (res.status !== 200 && res.status !== 206) throw await responseError(res, `${what}: blob GET`);
      let skip = 0;
      if (offset > 0 && res.status === 200) skip = offset; // server ignored Range: drop what we have
      let broken: unknown;
      try {
        for await (const raw of res.body as AsyncIterable<Buffer>) {
          let chunk = raw;
          if (skip > 0) {
            if (chunk.length <= skip) {
              skip -= chunk.length;
              continue;
            }
            chunk = chunk.subarray(skip);
            skip = 0;
          }
          if (offset + chunk.length > desc.size) {
            res.body.destroy();
            throw new RemoteError(
              "SIZE_MISMATCH",
              `${what}: registry sent more than the expected ${desc.size} bytes`,
            );
          }
          offset += chunk.length;
          hash?.update(chunk);
          opts.onBytes?.(offset);
          yield chunk;
        }
      } catch (err) {
        if (err instanceof RemoteError || !isRetryableNetworkError(err)) throw err;
        broken = err;
      }
      if (offset === desc.size) break;
      if (++resumes > maxResumes) {
        throw new RemoteError("NETWORK", `${what}: download stopped at ${offset} of ${desc.size} bytes`, {
          cause: broken,
        });
      }
    }
    if (hash) {
      const actual = `${algorithm}:${hash.digest("hex")}`;
      if (actual !== desc.digest) {
        throw new RemoteError("DIGEST_MISMATCH", `${what}: registry sent bytes with digest ${actual}`, {
          detail: { expected: desc.digest, actual },
        });
      }
    }
  }

  /** Tries a cross-repository mount; resolves true when the registry mounted the blob. */
  async mountBlob(repo: string, digest: Digest, fromRepo: string): Promise<boolean> {
    const q = new URLSearchParams({ mount: digest, from: fromRepo });
    const res = await this.request({
      method: "POST",
      path: `/v2/${repo}/blobs/uploads/?${q}`,
      scopes: [repoScope(repo, "pull,push"), repoScope(fromRepo, "pull")],
      headers: { "content-length": "0" },
    });
    await res.body.dump();
    if (res.status === 201) return true;
    if (res.status === 202) {
      // The registry opened an upload session instead; abandon it.
      const loc = header(res, "location");
      if (loc) await this.cancelUpload(repo, loc);
      return false;
    }
    return false;
  }

  private async cancelUpload(repo: string, location: string): Promise<void> {
    try {
      const r = await this.request({
        method: "DELETE",
        path: new URL(location, this.baseUrl).toString(),
        scopes: [repoScope(repo, "pull,push")],
        noRetry: true,
      });
      await r.body.dump();
    } catch {
      // the registry expires abandoned sessions anyway
    }
  }

  /**
   * Uploads a blob unless the repository has it: tries a mount from `mountFrom` repositories of the
   * same registry, then uploads monolithically (small blobs) or in chunks / one streamed `PATCH`.
   * `open` is called again when an upload must restart from the beginning.
   */
  async putBlob(
    repo: string,
    desc: Pick<Descriptor, "digest" | "size">,
    open: () => Promise<Readable> | Readable,
    opts: { mountFrom?: string[]; onBytes?: BytesCallback; skipExistsCheck?: boolean } = {},
  ): Promise<UploadResult> {
    if (!opts.skipExistsCheck && (await this.hasBlob(repo, desc.digest))) return "exists";
    for (const from of opts.mountFrom ?? []) {
      if (from !== repo && (await this.mountBlob(repo, desc.digest, from))) return "mounted";
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await this.uploadOnce(repo, desc, open, opts.onBytes);
        return "uploaded";
      } catch (err) {
        if (
          attempt >= 3 ||
          !(isRetryableNetworkError(err) || (err instanceof RemoteError && err.code === "NETWORK"))
        )
          throw err;
      }
    }
  }

  private async uploadOnce(
    repo: string,
    desc: Pick<Descriptor, "digest" | "size">,
    open: () => Promise<Readable> | Readable,
    onBytes: BytesCallback | undefined,
  ): Promise<void> {
    const what = `${this.registry}/${repo}@${desc.digest}: upload`;
    const scopes = [repoScope(repo, "pull,push")];
    const post = await this.request({
      method: "POST",
      path: `/v2/${repo}/blobs/uploads/`,
      scopes,
      headers: { "content-length": "0" },
    });
    if (post.status !== 202) throw await responseError(post, what);
    await post.body.dump();
    let location = header(post, "location");
    if (!location)
      throw new RemoteError("INVALID_RESPONSE", `${what}: no Location in the upload session answer`);
    location = new URL(location, this.baseUrl).toString();
    const minChunk = Number(header(post, "oci-chunk-min-length") ?? 0);
    const monolithicMax = this.opts.monolithicMaxBytes ?? 4 * 1024 * 1024;
    const finish = (loc: string) => {
      const u = new URL(loc, this.baseUrl);
      u.searchParams.set("digest", desc.digest);
      return u.toString();
    };
    const counted = async (): Promise<Readable> => countBytes(await open(), onBytes);
    try {
      if (desc.size <= monolithicMax) {
        const res = await this.request({
          method: "PUT",
          path: finish(location),
          scopes,
          headers: { "content-type": "application/octet-stream", "content-length": String(desc.size) },
          body: counted,
          noRetry: true,
        });
        if (res.status !== 201) throw await responseError(res, what);
        await res.body.dump();
        return;
      }
      const chunkSize = Math.max(this.opts.chunkSize ?? 0, minChunk);
      if (chunkSize <= 0) {
        const res = await this.request({
          method: "PATCH",
          path: location,
          scopes,
          headers: { "content-type": "application/octet-stream" },
          body: counted,
          noRetry: true,
        });
        if (res.status !== 202) throw await responseError(res, what);
        await res.body.dump();
        location = new URL(header(res, "location") ?? location, this.baseUrl).toString();
      } else {
        let offset = 0;
        let pending: Buffer[] = [];
        let pendingLen = 0;
        const flush = async () => {
          const chunk = Buffer.concat(pending, pendingLen);
          pending = [];
          pendingLen = 0;
          const res = await this.request({
            method: "PATCH",
            path: location as string,
            scopes,
            headers: {
              "content-type": "application/octet-stream",
              "content-length": String(chunk.length),
              "content-range": `${offset}-${offset + chunk.length - 1}`,
            },
            body: () => chunk,
            noRetry: true,
          });
          if (res.status !== 202) throw await responseError(res, what);
          await res.body.dump();
          location = new URL(header(res, "location") ?? (location as string), this.baseUrl).toString();
          offset += chunk.length;
          onBytes?.(offset);
        };
        const src = await open();
        for await (const c of src as AsyncIterable<Buffer>) {
          pending.push(c);
          pendingLen += c.length;
          while (pendingLen >= chunkSize) {
            const all = Buffer.concat(pending, pendingLen);
            pending = [all.subarray(0, chunkSize)];
            pendingLen = chunkSize;
            const rest = all.subarray(chunkSize);
            await flush();
            pending = rest.length ? [rest] : [];
            pendingLen = rest.length;
          }
        }
        if (pendingLen > 0) await flush();
      }
      const put = await this.request({
        method: "PUT",
        path: finish(location),
        scopes,
        headers: { "content-length": "0" },
        noRetry: true,
      });
      if (put.status !== 201) throw await responseError(put, what);
      await put.body.dump();
    } catch (err) {
      await this.cancelUpload(repo, location);
      throw err;
    }
  }

  /** Every tag of a repository, following `Link` pagination. */
  async listTags(repo: string): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repo}/tags/list`;
    while (path) {
      const res = await this.request({ method: "GET", path, scopes: [repoScope(repo, "pull")] });
      if (res.status !== 200) throw await responseError(res, `${this.registry}/${repo}: tags`);
      const body = (await res.body.json()) as { tags?: unknown };
      if (Array.isArray(body.tags)) for (const t of body.tags) if (typeof t === "string") tags.push(t);
      path = nextLink(header(res, "link"), res.url);
    }
    return tags;
  }

  /**
   * The referrers of a manifest: the referrers API when the registry has it, else the spec's
   * fallback tag `<alg>-<hex>`. An absent list is an empty index. Optionally filtered by type.
   */
  async listReferrers(
    repo: string,
    digest: Digest,
    artifactType?: string,
  ): Promise<{ index: ImageIndex; api: boolean }> {
    const q = artifactType ? `?${new URLSearchParams({ artifactType })}` : "";
    const res = await this.request({
      method: "GET",
      path: `/v2/${repo}/referrers/${digest}${q}`,
      scopes: [repoScope(repo, "pull")],
    });
    const ctype = header(res, "content-type") ?? "";
    if (res.status === 200 && ctype.startsWith(MediaType.OciIndex)) {
      const index = (await res.body.json()) as ImageIndex;
      const filtered = !artifactType || (header(res, "oci-filters-applied") ?? "").includes("artifactType");
      if (!filtered) index.manifests = index.manifests.filter((m) => m.artifactType === artifactType);
      return { index, api: true };
    }
    await res.body.dump();
    if (res.status !== 404 && res.status !== 200 && res.status !== 400 && res.status !== 405) {
      throw await responseError(res, `${this.registry}/${repo}@${digest}: referrers`);
    }
    const index = await this.fallbackReferrers(repo, digest);
    if (artifactType) index.manifests = index.manifests.filter((m) => m.artifactType === artifactType);
    return { index, api: false };
  }

  /** The index under the referrers fallback tag, or an empty one. */
  async fallbackReferrers(repo: string, digest: Digest): Promise<ImageIndex> {
    try {
      const m = await this.getManifest(repo, referrersTag(digest), [MediaType.OciIndex]);
      return JSON.parse(m.bytes.toString("utf8")) as ImageIndex;
    } catch (err) {
      if (err instanceof RemoteError && err.code === "NOT_FOUND") {
        return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
      }
      throw err;
    }
  }
}

/** The referrers fallback tag for a digest: `sha256-<hex>` (distribution-spec). Pure. */
export function referrersTag(digest: Digest): string {
  return `${parseDigest(digest).algorithm}-${digestHex(digest)}`;
}
