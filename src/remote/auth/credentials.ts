/**
 * Registry credentials as Docker keeps them: `~/.docker/config.json` (`auths`, `credHelpers`,
 * `credsStore`) and `docker-credential-*` helpers speaking the `get`/`store`/`erase` protocol.
 * `pier login` writes to the same file, so docker, podman, skopeo and pier share one login.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { isErrno } from "../../errors.js";
import { RemoteError } from "../error.js";

/** A credential for one registry: a user and password, or an OAuth2 refresh ("identity") token. */
export interface Credentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token, exchanged at the token endpoint with the POST form. */
  identityToken?: string;
}

/** Where credentials are looked up. */
export interface CredentialOptions {
  /** Path of the Docker-style `config.json`; default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  configPath?: string;
  /** Directories searched for `docker-credential-*` helpers before `$PATH`. */
  helperDirs?: string[];
}

/** Shape of the parts of `config.json` pier reads and writes. Other fields are kept untouched. */
interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [other: string]: unknown;
}

/** Docker Hub's historic key in `auths`. */
const DOCKER_HUB_KEY = "https://index.docker.io/v1/";

/** The default `config.json` path, honouring `$DOCKER_CONFIG` as docker does. */
export function defaultConfigPath(): string {
  const dir = process.env["DOCKER_CONFIG"] ?? join(homedir(), ".docker");
  return join(dir, "config.json");
}

/**
 * The canonical host name used as a key: scheme and path stripped, Docker Hub's aliases
 * folded to `docker.io`. Pure.
 */
export function normalizeRegistryKey(key: string): string {
  let k = key.trim().replace(/^[a-z]+:\/\//i, "");
  const slash = k.indexOf("/");
  if (slash >= 0) k = k.slice(0, slash);
  k = k.toLowerCase();
  if (k === "index.docker.io" || k === "registry-1.docker.io" || k === "registry.hub.docker.com")
    return "docker.io";
  return k;
}

async function readConfig(path: string): Promise<DockerConfigFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if (isErrno(err, "ENOENT")) return {};
    throw err;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not an object");
    return parsed as DockerConfigFile;
  } catch (err) {
    throw new RemoteError(
      "INVALID_RESPONSE",
      `${path}: not a valid Docker config file: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

function findKey<T>(map: Record<string, T> | undefined, registry: string): [string, T] | undefined {
  if (!map) return undefined;
  const want = normalizeRegistryKey(registry);
  for (const [k, v] of Object.entries(map)) if (normalizeRegistryKey(k) === want) return [k, v];
  return undefined;
}

/** Decodes one `auths` entry. Pure. */
export function decodeAuthEntry(entry: {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}): Credentials | undefined {
  const out: Credentials = {};
  if (entry.auth) {
    const plain = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = plain.indexOf(":");
    if (colon > 0) {
      out.username = plain.slice(0, colon);
      out.password = plain.slice(colon + 1);
    }
  }
  if (entry.username) out.username = entry.username;
  if (entry.password) out.password = entry.password;
  if (entry.identitytoken) out.identityToken = entry.identitytoken;
  return out.username || out.identityToken ? out : undefined;
}

/** The helper name for a registry: its `credHelpers` entry, else `credsStore`. Pure. */
function helperFor(config: DockerConfigFile, registry: string): string | undefined {
  return findKey(config.credHelpers, registry)?.[1] ?? config.credsStore ?? undefined;
}

function helperServerUrl(registry: string): string {
  return normalizeRegistryKey(registry) === "docker.io" ? DOCKER_HUB_KEY : registry;
}

/** Runs `docker-credential-<name> <verb>` with `input` on stdin; resolves with stdout. */
async function runHelper(
  name: string,
  verb: string,
  input: string,
  opts: CredentialOptions,
): Promise<string> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new RemoteError("CREDENTIAL_HELPER", `invalid credential helper name ${JSON.stringify(name)}`);
  }
  const env = { ...process.env };
  if (opts.helperDirs?.length) env["PATH"] = [...opts.helperDirs, env["PATH"] ?? ""].join(":");
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${name}`, [verb], { env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    child.on("error", (e) =>
      reject(new RemoteError("CREDENTIAL_HELPER", `docker-credential-${name}: ${e.message}`, { cause: e })),
    );
    child.on("close", (code) => {
      if (code === 0) resolve(out);
      else {
        const msg = (out + err).trim();
        reject(
          new RemoteError(
            "CREDENTIAL_HELPER",
            `docker-credential-${name} ${verb} failed (exit ${code}): ${msg}`,
            {
              detail: { helper: name, verb, output: msg },
            },
          ),
        );
      }
    });
    child.stdin.end(input);
  });
}

/**
 * The credentials stored for `registry` (a host[:port]), or `undefined` for anonymous access.
 * Order as docker: a `credHelpers` entry, then `credsStore`, then `auths`. A helper that says
 * "credentials not found" means anonymous; any other helper failure is an error.
 */
export async function resolveCredentials(
  registry: string,
  opts: CredentialOptions = {},
): Promise<Credentials | undefined> {
  const config = await readConfig(opts.configPath ?? defaultConfigPath());
  const helper = helperFor(config, registry);
  if (helper) {
    try {
      const out = await runHelper(helper, "get", helperServerUrl(registry), opts);
      const parsed = JSON.parse(out) as { Username?: string; Secret?: string };
      if (!parsed.Secret) return undefined;
      if (parsed.Username === "<token>") return { identityToken: parsed.Secret };
      return { username: parsed.Username ?? "", password: parsed.Secret };
    } catch (err) {
      if (err instanceof RemoteError && /credentials not found/i.test(String(err.detail?.["output"] ?? ""))) {
        // fall through to `auths`, as docker does for a store without an entry
      } else if (err instanceof SyntaxError) {
        throw new RemoteError("CREDENTIAL_HELPER", `docker-credential-${helper} get: output is not JSON`);
      } else throw err;
    }
  }
  const entry = findKey(config.auths, registry);
  return entry ? decodeAuthEntry(entry[1]) : undefined;
}

async function writeConfig(path: string, config: DockerConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(config, null, "\t")}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/**
 * Saves credentials for `registry`: through the configured helper when there is one, else as a
 * base64 `auth` entry in `config.json` (file mode 0600, written atomically, other keys kept).
 */
export async function storeCredentials(
  registry: string,
  creds: Credentials,
  opts: CredentialOptions = {},
): Promise<void> {
  const path = opts.configPath ?? defaultConfigPath();
  const config = await readConfig(path);
  const helper = helperFor(config, registry);
  if (helper) {
    const secret = creds.identityToken ?? creds.password ?? "";
    const username = creds.identityToken ? "<token>" : (creds.username ?? "");
    await runHelper(
      helper,
      "store",
      JSON.stringify({ ServerURL: helperServerUrl(registry), Username: username, Secret: secret }),
      opts,
    );
    return;
  }
  const auths = { ...(config.auths ?? {}) };
  const existing = findKey(auths, registry);
  const key = existing?.[0] ?? (normalizeRegistryKey(registry) === "docker.io" ? DOCKER_HUB_KEY : registry);
  const entry: { auth?: string; identitytoken?: string } = {};
  if (creds.username !== undefined) {
    entry.auth = Buffer.from(`${creds.username}:${creds.password ?? ""}`).toString("base64");
  }
  if (creds.identityToken) entry.identitytoken = creds.identityToken;
  auths[key] = entry;
  await writeConfig(path, { ...config, auths });
}

/** Forgets credentials for `registry`; resolves `false` when there were none. */
export async function eraseCredentials(registry: string, opts: CredentialOptions = {}): Promise<boolean> {
  const path = opts.configPath ?? defaultConfigPath();
  const config = await readConfig(path);
  const helper = helperFor(config, registry);
  if (helper) {
    await runHelper(helper, "erase", helperServerUrl(registry), opts);
    return true;
  }
  const existing = findKey(config.auths, registry);
  if (!existing) return false;
  const auths = { ...(config.auths ?? {}) };
  delete auths[existing[0]];
  await writeConfig(path, { ...config, auths });
  return true;
}
