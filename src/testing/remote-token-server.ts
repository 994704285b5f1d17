/**
 * Test support (not library API): a small token issuer for `docker-registry`'s token auth — an
 * ES256 key with a self-signed certificate (openssl), JWTs signed with jose and an `x5c` header
 * so the registry verifies them against `rootcertbundle`. Grants what is asked to a known user
 * (Basic on GET, or a refresh token on the OAuth2 POST form) and nothing to anonymous callers.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importPKCS8, SignJWT } from "jose";
import { writeSelfSignedKeyPair } from "./tls-cert.js";

/** A running token server. */
export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certPem: string;
  /** Requests seen, for assertions (`GET` or `POST`, and the scopes asked). */
  requests: { method: string; scopes: string[]; account?: string }[];
  /** A refresh token valid for `user` (what an OAuth2 login would have stored). */
  refreshToken: string;
  stop(): Promise<void>;
}

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
}

async function readBody(req: IncomingMessage): Promise<string> {
  let s = "";
  for await (const c of req) s += c;
  return s;
}

/** Starts the issuer on a free loopback port, for `user`:`password`; tokens live `lifetimeS`. */
export async function startTokenServer(
  user: string,
  password: string,
  lifetimeS = 300,
): Promise<TokenServer> {
  const dir = await mkdtemp(join(tmpdir(), "pier-token-"));
  const { keyPem, certPem } = await writeSelfSignedKeyPair(dir, "pier-test-token").finally(() =>
    rm(dir, { recursive: true, force: true }),
  );
  const key = await importPKCS8(keyPem, "ES256");
  const service = "pier-test-registry";
  const issuer = "pier-test-issuer";
  const refreshToken = randomBytes(16).toString("hex");
  const requests: TokenServer["requests"] = [];

  const issue = async (scopes: string[], account: string | undefined) => {
    const access = account
      ? scopes.flatMap((s) => {
          const [type, name, actions] = s.split(":");
          return type && name && actions ? [{ type, name, actions: actions.split(",") }] : [];
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ access })
      .setProtectedHeader({ alg: "ES256", typ: "JWT", x5c: [pemBody(certPem)] })
      .setIssuer(issuer)
      .setSubject(account ?? "")
      .setAudience(service)
      .setIssuedAt(now - 5)
      .setNotBefore(now - 5)
      .setExpirationTime(now + lifetimeS)
      .setJti(randomBytes(8).toString("hex"))
      .sign(key);
  };

  const server: Server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://x");
      let account: string | undefined;
      let scopes: string[];
      if (req.method === "POST") {
        const form = new URLSearchParams(await readBody(req));
        scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
        if (form.get("grant_type") === "refresh_token" && form.get("refresh_token") === refreshToken)
          account = user;
        else if (
          form.get("grant_type") === "password" &&
          form.get("username") === user &&
          form.get("password") === password
        )
          account = user;
        else {
          res.writeHead(401).end();
          return;
        }
        requests.push({ method: "POST", scopes, account });
        const token = await issue(scopes, account);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ access_token: token, expires_in: lifetimeS, refresh_token: refreshToken }));
        return;
      }
      scopes = url.searchParams.getAll("scope");
      const auth = req.headers.authorization;
      if (auth?.startsWith("Basic ")) {
        const [u, p] = Buffer.from(auth.slice(6), "base64").toString().split(":");
        if (u !== user || p !== password) {
          res.writeHead(401, { "content-type": "application/json" }).end('{"details":"bad credentials"}');
          return;
        }
        account = user;
      }
      requests.push({ method: "GET", scopes, ...(account ? { account } : {}) });
      const token = await issue(scopes, account);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ token, expires_in: lifetimeS, issued_at: new Date().toISOString() }));
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPem,
    requests,
    refreshToken,
    stop: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
