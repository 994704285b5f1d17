import { clientKey } from "../connection-gate.js";
import { RegistryError } from "../errors.js";
import { RateLimiter } from "../rate-limit.js";
import type { AccessController, RepoAction } from "./access.js";
import type { Htpasswd } from "./htpasswd.js";
import { parseScopes, type TokenAccess, type TokenIssuer, type VerifiedToken } from "./token.js";

/** How clients authenticate: not at all, HTTP Basic against htpasswd, or bearer tokens. */
export type AuthMode = "none" | "basic" | "token";

/** What a request needs: an action on a repository, or just being a known client (`/v2/`, catalog). */
export type Need = { repo: string; action: RepoAction } | { repo?: undefined; action: "base" | "catalog" };

/** How many failed logins a client (by address) may make: `burst` at once, then `perMinute`; 0 disables. */
export interface LoginFailureLimit {
  perMinute: number;
  burst: number;
}

/** Parses `Authorization: Basic …`; `undefined` when absent or malformed. */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  const text = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

function scopeOf(need: Need): string {
  if (need.repo === undefined) return need.action === "catalog" ? "registry:catalog:*" : "";
  const actions = need.action === "push" ? "pull,push" : need.action;
  return `repository:${need.repo}:${actions}`;
}

// Tokens are verified once and remembered until they expire, bounded so a flood of forged
// tokens cannot grow memory.
const TOKEN_CACHE_MAX = 4096;

/**
 * Decides whether a request may proceed, per the configured mode and access policy, and answers
 * the token endpoint in token mode. Failures are `RegistryError`s carrying the right challenge:
 * `UNAUTHORIZED` (401, `WWW-Authenticate`) for missing or bad credentials and for a token
 * without the needed scope, `DENIED` (403) for a Basic user the policy refuses.
 */
export class Authorizer {
  readonly mode: AuthMode;
  private readonly access: AccessController;
  private readonly htpasswd: Htpasswd | undefined;
  private readonly issuer: TokenIssuer | undefined;
  private readonly tokens = new Map<string, VerifiedToken>();
  private readonly failures: RateLimiter | undefined;

  constructor(
    mode: AuthMode,
    access: AccessController,
    htpasswd?: Htpasswd,
    issuer?: TokenIssuer,
    failureLimit: LoginFailureLimit = { perMinute: 10, burst: 10 },
  ) {
    if (mode !== "none" && !htpasswd) throw new Error(`auth mode ${mode} needs an htpasswd file`);
    if (mode === "token" && !issuer) throw new Error("auth mode token needs a token issuer");
    this.mode = mode;
    this.access = access;
    this.htpasswd = htpasswd;
    this.issuer = issuer;
    this.failures =
      failureLimit.perMinute > 0
        ? new RateLimiter(failureLimit.perMinute / 60, failureLimit.burst)
        : undefined;
  }

  /**
   * Checks Basic credentials against the htpasswd file for a request from `client` (its
   * address; an IPv6 client counts by its /64). Credentials verified recently pass at once; otherwise a client that failed too
   * often lately is refused with `TOOMANYREQUESTS` and `Retry-After` before any bcrypt work, and
   * a failure counts against it. Resolves the user name; throws `UNAUTHORIZED` with `challenge`.
   */
  private async authenticate(
    creds: { user: string; password: string },
    client: string,
    challenge: Record<string, string>,
  ): Promise<string> {
    const htpasswd = this.htpasswd!;
    if (htpasswd.isRemembered(creds.user, creds.password)) return creds.user;
    const key = clientKey(client);
    const wait = this.failures?.waitSeconds(key, Date.now()) ?? 0;
    if (wait > 0) {
      const seconds = Math.ceil(wait);
      throw new RegistryError(
        "TOOMANYREQUESTS",
        `too many failed logins from this client; retry in ${seconds} s`,
        { headers: { "Retry-After": String(seconds) } },
      );
    }
    if (!(await htpasswd.verify(creds.user, creds.password))) {
      this.failures?.take(key, Date.now());
      throw new RegistryError("UNAUTHORIZED", "invalid user name or password", { headers: challenge });
    }
    return creds.user;
  }

  /**
   * Authorizes `/metrics`: open without auth; otherwise any user with valid Basic credentials
   * (in token mode too, as Prometheus speaks Basic but not the token flow).
   */
  async authorizeMetrics(header: string | undefined, client: string): Promise<string | undefined> {
    if (this.mode === "none") return undefined;
    const challenge = { "WWW-Authenticate": 'Basic realm="pier"' };
    const creds = parseBasic(header);
    if (!creds) throw new RegistryError("UNAUTHORIZED", "authentication required", { headers: challenge });
    return this.authenticate(creds, client, challenge);
  }

  /** Stops the bcrypt workers of the htpasswd check. */
  close(): Promise<void> {
    return this.htpasswd?.close() ?? Promise.resolve();
  }

  private challenge(need: Need, realm: string, error?: string): Record<string, string> {
    if (this.mode === "basic") return { "WWW-Authenticate": 'Basic realm="pier"' };
    const scope = scopeOf(need);
    let value = `Bearer realm="${realm}",service="${this.issuer!.service}"`;
    if (scope) value += `,scope="${scope}"`;
    if (error) value += `,error="${error}"`;
    return { "WWW-Authenticate": value };
  }

  /**
   * Checks a request's `Authorization` header against `need`. Resolves with the user name
   * (`undefined` for anonymous) or throws. `realm` is the token endpoint's URL for challenges;
   * `client` (the peer's address) is what failed logins are counted against.
   */
  async authorize(
    header: string | undefined,
    need: Need,
    realm: string,
    client: string,
  ): Promise<string | undefined> {
    if (this.mode === "none") return undefined;
    if (this.mode === "basic") {
      const creds = parseBasic(header);
      if (!creds) {
        if (need.repo !== undefined && this.access.can(undefined, need.repo, need.action)) return undefined;
        throw new RegistryError("UNAUTHORIZED", "authentication required", {
          headers: this.challenge(need, realm),
        });
      }
      await this.authenticate(creds, client, this.challenge(need, realm));
      if (need.repo !== undefined && !this.access.can(creds.user, need.repo, need.action)) {
        throw new RegistryError("DENIED", `${creds.user} may not ${need.action} ${need.repo}`, {
          detail: { repository: need.repo, action: need.action },
        });
      }
      return creds.user;
    }
    const token = header && /^bearer /i.test(header) ? header.slice(7).trim() : undefined;
    if (!token) {
      throw new RegistryError("UNAUTHORIZED", "authentication required", {
        headers: this.challenge(need, realm),
      });
    }
    const verified = await this.verifyToken(token);
    if (!verified) {
      throw new RegistryError("UNAUTHORIZED", "invalid or expired token", {
        headers: this.challenge(need, realm, "invalid_token"),
      });
    }
    if (need.action === "base") return verified.subject;
    const type = need.repo === undefined ? "registry" : "repository";
    const name = need.repo ?? "catalog";
    const ok = verified.access.some(
      (a) =>
        a.type === type && a.name === name && (a.actions.includes(need.action) || a.actions.includes("*")),
    );
    if (!ok) {
      throw new RegistryError("UNAUTHORIZED", `token does not grant ${scopeOf(need)}`, {
        headers: this.challenge(need, realm, "insufficient_scope"),
      });
    }
    return verified.subject;
  }

  // A cached token is trusted exactly until its own `exp`, never longer than its signature says.
  private async verifyToken(token: string): Promise<VerifiedToken | undefined> {
    const cached = this.tokens.get(token);
    if (cached) {
      if (cached.expiresAtMs > Date.now()) return cached;
      this.tokens.delete(token);
      return undefined;
    }
    const v = await this.issuer!.verify(token);
    if (!v) return undefined;
    if (this.tokens.size >= TOKEN_CACHE_MAX) this.tokens.clear();
    this.tokens.set(token, v);
    return v;
  }

  /**
   * The policy's verdict on whether an identity that `authorize` already established
   * (`undefined` for anonymous) may pull `repo`, independent of any token's scopes: for listing
   * the catalog and finding a blob to mount. Without auth, everyone may.
   */
  canPull(user: string | undefined, repo: string): boolean {
    return this.mode === "none" || this.access.can(user, repo, "pull");
  }

  /**
   * Answers `GET /token?service=&scope=…` (Docker token specification): authenticates Basic
   * credentials when given (anonymous otherwise), grants the intersection of the requested and
   * the allowed actions, and returns the JSON body to send. Failed logins count against `client`.
   */
  async issueToken(header: string | undefined, query: URLSearchParams, client: string): Promise<string> {
    if (this.mode !== "token")
      throw new RegistryError("UNSUPPORTED", "token auth is not enabled", { status: 404 });
    let user: string | undefined;
    const creds = parseBasic(header);
    if (creds) user = await this.authenticate(creds, client, { "WWW-Authenticate": 'Basic realm="pier"' });
    const granted: TokenAccess[] = [];
    for (const want of parseScopes(query.getAll("scope"))) {
      if (want.type === "repository") {
        const allowed = this.access.allowed(user, want.name);
        const actions = want.actions.filter((a) => allowed.has(a as RepoAction));
        granted.push({ type: want.type, name: want.name, actions });
      } else if (want.type === "registry" && want.name === "catalog" && user !== undefined) {
        granted.push({ type: "registry", name: "catalog", actions: ["*"] });
      }
    }
    const { token, issuedAt } = await this.issuer!.issue(user, granted);
    return JSON.stringify({
      token,
      access_token: token,
      expires_in: this.issuer!.expiresIn,
      issued_at: issuedAt.toISOString(),
    });
  }
}
