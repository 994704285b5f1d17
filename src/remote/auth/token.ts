/**
 * Bearer tokens from a registry's token service (distribution's token auth spec and its OAuth2
 * variant): anonymous and credentialed GET, the OAuth2 POST form for refresh tokens, and a
 * cache per realm, service and scope that renews tokens before they expire.
 */
import { RemoteError } from "../error.js";
import type { HttpClient } from "../http.js";
import type { Credentials } from "./credentials.js";

/** What a Bearer challenge asks for. */
export interface TokenRequest {
  realm: string;
  service?: string;
  scopes: string[];
}

/** A token and when it stops being usable. */
export interface Token {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** Refresh token handed back by an OAuth2 server, reused for the next renewal. */
  refreshToken?: string;
}

/** Shape of a token service's JSON answer (both `token` and `access_token` are in use). */
interface TokenResponse {
  token?: string;
  access_token?: string;
  expires_in?: number;
  issued_at?: string;
  refresh_token?: string;
}

/** Tokens are renewed this long before their announced expiry. */
const EXPIRY_MARGIN_MS = 10_000;
/** The spec's default lifetime when `expires_in` is missing. */
const DEFAULT_LIFETIME_S = 60;

/** Turns a token response into a {@link Token}. Pure. */
export function tokenFromResponse(body: unknown, now = Date.now()): Token {
  const r = (typeof body === "object" && body !== null ? body : {}) as TokenResponse;
  const token = r.token ?? r.access_token;
  if (typeof token !== "string" || token === "") {
    throw new RemoteError("INVALID_RESPONSE", "token service answered without a token");
  }
  const lifetime = typeof r.expires_in === "number" && r.expires_in > 0 ? r.expires_in : DEFAULT_LIFETIME_S;
  const issued = r.issued_at ? Date.parse(r.issued_at) : Number.NaN;
  const start = Number.isNaN(issued) || issued > now ? now : issued;
  const out: Token = { token, expiresAt: start + lifetime * 1000 };
  if (typeof r.refresh_token === "string" && r.refresh_token) out.refreshToken = r.refresh_token;
  return out;
}

/** Fetches one token. Uses the OAuth2 POST form when there is a refresh token, else GET. */
export async function fetchToken(
  http: HttpClient,
  req: TokenRequest,
  creds: Credentials | undefined,
  opts: { allowHttp: boolean; clientId?: string },
): Promise<Token> {
  const realm = new URL(req.realm);
  if (realm.protocol !== "https:" && !(realm.protocol === "http:" && opts.allowHttp)) {
    throw new RemoteError(
      "INSECURE_REFUSED",
      `token realm ${req.realm} is not HTTPS; mark the registry insecure to allow plain HTTP`,
    );
  }
  const clientId = opts.clientId ?? "pier";
  let res: Awaited<ReturnType<HttpClient["send"]>>;
  if (creds?.identityToken) {
    const form = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: creds.identityToken,
      client_id: clientId,
    });
    if (req.service) form.set("service", req.service);
    if (req.scopes.length) form.set("scope", req.scopes.join(" "));
    res = await http.send({
      method: "POST",
      url: realm.toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: () => form.toString(),
    });
  } else {
    const url = new URL(realm);
    if (req.service) url.searchParams.set("service", req.service);
    for (const s of req.scopes) url.searchParams.append("scope", s);
    url.searchParams.set("client_id", clientId);
    const headers: Record<string, string> = {};
    if (creds?.username !== undefined) {
      headers["authorization"] =
        `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ""}`).toString("base64")}`;
      url.searchParams.set("account", creds.username);
    }
    res = await http.send({ method: "GET", url: url.toString(), headers });
  }
  const text = await res.body.text();
  if (res.status === 401 || res.status === 403) {
    throw new RemoteError(
      "UNAUTHORIZED",
      `token service ${realm.origin} refused the credentials (HTTP ${res.status})`,
    );
  }
  if (res.status !== 200) {
    throw new RemoteError(
      "REGISTRY_ERROR",
      `token service ${realm.origin} answered HTTP ${res.status}: ${text.slice(0, 200)}`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RemoteError("INVALID_RESPONSE", `token service ${realm.origin} answered non-JSON`);
  }
  return tokenFromResponse(body);
}

/** Tokens by realm, service and scope; a token is served until shortly before it expires. */
export class TokenCache {
  private readonly tokens = new Map<string, Token>();
  private readonly pending = new Map<string, Promise<Token>>();

  private static key(req: TokenRequest): string {
    return `${req.realm}\n${req.service ?? ""}\n${[...req.scopes].sort().join(" ")}`;
  }

  /** A valid cached token, or one fetched with `fetch` (concurrent callers share one fetch). */
  async get(req: TokenRequest, fetch: () => Promise<Token>, now = Date.now()): Promise<Token> {
    const key = TokenCache.key(req);
    const hit = this.tokens.get(key);
    if (hit && hit.expiresAt - EXPIRY_MARGIN_MS > now) return hit;
    let p = this.pending.get(key);
    if (!p) {
      p = fetch().then(
        (t) => {
          this.tokens.set(key, t);
          this.pending.delete(key);
          return t;
        },
        (e: unknown) => {
          this.pending.delete(key);
          throw e;
        },
      );
      this.pending.set(key, p);
    }
    return p;
  }

  /** Drops a token the registry rejected, so the next `get` fetches a fresh one. */
  invalidate(req: TokenRequest): void {
    this.tokens.delete(TokenCache.key(req));
  }
}
