/**
 * The credentials a docker client hands the daemon: the `X-Registry-Auth` header of pulls and
 * pushes (URL-safe base64 of a JSON `AuthConfig`) and the body of `POST /auth` (`docker login`).
 * pierd keeps none of them: each pull or push uses the ones its request carries. Pure.
 */
import { isPierError } from "../errors.js";
import type { Credentials } from "../remote/index.js";
import { EngineError } from "./error.js";

/** Docker's `AuthConfig` (API 1.41). */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** `base64(user:password)`, as `config.json` stores it. */
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

const KNOWN = new Set([
  "username",
  "password",
  "auth",
  "email",
  "serveraddress",
  "identitytoken",
  "registrytoken",
]);

/** The credentials of an `AuthConfig`, `undefined` when it holds none. */
export function credentialsOf(a: AuthConfig): Credentials | undefined {
  for (const k of Object.keys(a))
    if (!KNOWN.has(k))
      throw new EngineError("INVALID_ARGUMENT", `unknown registry auth field ${JSON.stringify(k)}`);
  for (const k of KNOWN)
    if (a[k as keyof AuthConfig] !== undefined && typeof a[k as keyof AuthConfig] !== "string")
      throw new EngineError("INVALID_ARGUMENT", `registry auth field ${k} must be a string`);
  if (a.registrytoken)
    throw new EngineError(
      "INVALID_ARGUMENT",
      "registry auth: registrytoken (a bearer token given by the client) is not supported; give username and password or identitytoken",
    );
  if (a.identitytoken)
    return { identityToken: a.identitytoken, ...(a.username ? { username: a.username } : {}) };
  let { username, password } = a;
  if (!username && a.auth) {
    const plain = Buffer.from(a.auth, "base64").toString("utf8");
    const colon = plain.indexOf(":");
    if (colon < 0)
      throw new EngineError("INVALID_ARGUMENT", "registry auth: auth is not base64(user:password)");
    username = plain.slice(0, colon);
    password = plain.slice(colon + 1);
  }
  if (!username && !password) return undefined;
  return { ...(username ? { username } : {}), ...(password !== undefined ? { password } : {}) };
}

/** The credentials of an `X-Registry-Auth` header; `undefined` when absent or empty. */
export function registryAuthHeader(header: string | string[] | undefined): Credentials | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (!text) return undefined;
  if (text.length > 64 * 1024) throw new EngineError("INVALID_ARGUMENT", "X-Registry-Auth header too large");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw new EngineError("INVALID_ARGUMENT", "X-Registry-Auth: not base64-encoded JSON");
  }
  if (parsed === null) return undefined;
  if (typeof parsed !== "object" || Array.isArray(parsed))
    throw new EngineError("INVALID_ARGUMENT", "X-Registry-Auth: not a JSON object");
  return credentialsOf(parsed as AuthConfig);
}

/**
 * The registry (`host[:port]`) of a login's `serveraddress`: a scheme and path are dropped,
 * Docker Hub's legacy index URL is `docker.io`. Pure.
 */
export function loginRegistry(serverAddress: string | undefined): string {
  const s = (serverAddress ?? "").trim();
  if (!s) return "docker.io";
  const host = s.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  if (host === "index.docker.io" || host === "registry-1.docker.io") return "docker.io";
  if (!/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host))
    throw new EngineError("INVALID_ARGUMENT", `invalid registry address ${JSON.stringify(serverAddress)}`);
  return host;
}

/**
 * A pull the registry refused (no or wrong credentials) as dockerd reports it: not found, with
 * Docker's "may require 'docker login'" message. Not a 401: on a 401 the docker CLI asks for a
 * user name on the terminal (and waits forever when there is none); Docker's daemon never
 * answers a pull with one. Other errors are returned unchanged.
 */
export function pullAccessError(err: unknown, repository: string): unknown {
  if (!isPierError(err, "UNAUTHORIZED") && !isPierError(err, "DENIED")) return err;
  return new EngineError(
    "NOT_FOUND",
    `pull access denied for ${repository}, repository does not exist or may require 'docker login': ${(err as Error).message}`,
    { cause: err },
  );
}
