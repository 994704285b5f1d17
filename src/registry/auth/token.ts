import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from "node:crypto";
import { readFileSync } from "node:fs";
import { libtrustKeyId } from "./libtrust.js";

/** One entry of a token's `access` claim (Docker token specification). */
export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

/**
 * Parses Docker token scopes (`repository:NAME:pull,push`, `registry:catalog:*`), several per
 * string when space-separated. Malformed scopes are dropped, as Docker's token server does.
 */
export function parseScopes(scopes: readonly string[]): TokenAccess[] {
  const out: TokenAccess[] = [];
  for (const s of scopes.flatMap((x) => x.split(" "))) {
    const first = s.indexOf(":");
    const last = s.lastIndexOf(":");
    if (first <= 0 || last === first) continue;
    out.push({
      type: s.slice(0, first),
      name: s.slice(first + 1, last),
      actions: s
        .slice(last + 1)
        .split(",")
        .filter((a) => a !== ""),
    });
  }
  return out;
}

/** Settings of the built-in token issuer. */
export interface TokenIssuerOptions {
  /** `iss` of issued tokens. */
  issuer: string;
  /** `aud` of issued tokens: the registry's service name. */
  service: string;
  /**
   * PEM private key (EC P-256, RSA or Ed25519) file; a fresh EC key is generated when absent.
   * Another registry (Docker's distribution) can trust the issuer through a certificate of this
   * key in its `rootcertbundle`; it needs an EC or RSA key.
   */
  keyFile?: string;
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number;
}

/** A verified token's subject, grants and expiry. */
export interface VerifiedToken {
  subject: string | undefined;
  access: TokenAccess[];
  /** The token's `exp` in milliseconds since the epoch: it is refused from then on. */
  expiresAtMs: number;
}

function algorithmOf(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case "ec":
      return "ES256";
    case "rsa":
      return "RS256";
    case "ed25519":
      return "EdDSA";
    default:
      throw new Error(`token key: unsupported key type ${key.asymmetricKeyType}`);
  }
}

/**
 * Issues and verifies registry bearer tokens: JWTs signed with the configured key, carrying
 * Docker's `access` claim and the key's libtrust ID as `kid`, so Docker's distribution (2.x)
 * accepts them when its `rootcertbundle` holds a certificate of the key. Verification checks
 * signature, issuer, audience and expiry.
 */
export class TokenIssuer {
  readonly issuer: string;
  readonly service: string;
  readonly expiresIn: number;
  /** libtrust ID of the signing key: the `kid` header of every issued token. */
  readonly keyId: string;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly alg: string;

  constructor(options: TokenIssuerOptions) {
    this.issuer = options.issuer;
    this.service = options.service;
    this.expiresIn = options.expiresIn ?? 300;
    this.privateKey = options.keyFile
      ? createPrivateKey(readFileSync(options.keyFile))
      : generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    this.publicKey = createPublicKey(this.privateKey);
    this.alg = algorithmOf(this.privateKey);
    this.keyId = libtrustKeyId(this.publicKey);
  }

  /** Signs a token for `subject` (`undefined` for anonymous) granting `access`. */
  async issue(
    subject: string | undefined,
    access: TokenAccess[],
  ): Promise<{ token: string; issuedAt: Date }> {
    const issuedAt = new Date();
    const { SignJWT } = await import("jose");
    const jwt = new SignJWT({ access })
      .setProtectedHeader({ alg: this.alg, typ: "JWT", kid: this.keyId })
      .setIssuer(this.issuer)
      .setAudience(this.service)
      .setIssuedAt()
      .setNotBefore(Math.floor(issuedAt.getTime() / 1000) - 1)
      .setExpirationTime(`${this.expiresIn}s`)
      .setJti(randomUUID());
    if (subject !== undefined) jwt.setSubject(subject);
    return { token: await jwt.sign(this.privateKey), issuedAt };
  }

  /** Verifies a token; `undefined` when it is invalid, expired, or not ours. */
  async verify(token: string): Promise<VerifiedToken | undefined> {
    try {
      const { jwtVerify } = await import("jose");
      const { payload } = await jwtVerify(token, this.publicKey, {
        issuer: this.issuer,
        audience: this.service,
      });
      // Our tokens always carry `exp`; one without it (another issuer's key) is refused.
      if (typeof payload.exp !== "number") return undefined;
      const access = Array.isArray(payload.access) ? (payload.access as TokenAccess[]) : [];
      return { subject: payload.sub, access, expiresAtMs: payload.exp * 1000 };
    } catch {
      return undefined;
    }
  }
}
