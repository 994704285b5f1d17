/**
 * pier's per-registry directory, as containerd's `hosts.toml` (docs/hosts.md) and Docker's
 * `certs.d`: `<dir>/<host[:port]>/hosts.toml` lists the mirrors of that registry (`[host."URL"]`,
 * tried in order, `server` last) with their TLS and headers; `*.crt` files there are extra CAs
 * and `*.cert`/`*.key` pairs client certificates for connections to that host.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { RemoteError } from "../error.js";

/** Default directory, as `/etc/containerd/certs.d` and `/etc/docker/certs.d`. */
export const DEFAULT_CERTS_DIR = "/etc/pier/certs.d";

/** How to connect to one host: TLS material and headers. */
export interface HostTls {
  /** Extra CA certificates (PEM). */
  ca: Buffer[];
  client?: { cert: Buffer; key: Buffer };
  skipVerify: boolean;
  headers: Record<string, string>;
}

/** One `[host."URL"]` (or the `server`) of a hosts.toml. */
export interface HostEndpoint extends HostTls {
  /** `scheme://host[:port]` of the endpoint. */
  origin: string;
  /** The URL standing for `/v2` (with `override_path` the host's path itself, else `<path>/v2`). */
  apiRoot: string;
  /** `host[:port]`, for messages and credentials. */
  host: string;
  capabilities: Set<"pull" | "resolve" | "push">;
}

/** A registry's hosts.toml: mirrors in order, then the server. */
export interface HostsFile {
  file: string;
  mirrors: HostEndpoint[];
  server: HostEndpoint;
}

function hostsError(file: string, problem: string): RemoteError {
  return new RemoteError("INVALID_REGISTRIES_CONF", `${file}: ${problem}`, { detail: { file } });
}

/** Directory names as containerd's `hostDirectory`: `host:port` stays, IPv6 brackets too. */
function hostDir(dir: string, host: string): string {
  return join(dir, host);
}

/** Docker's certs.d files in `<dir>/<host>`: every `*.crt` a CA, every `*.cert` with its `*.key`. */
export function certsDirTls(dir: string, host: string): HostTls {
  const d = hostDir(dir, host);
  const tls: HostTls = { ca: [], skipVerify: false, headers: {} };
  if (!existsSync(d) || !statSync(d).isDirectory()) return tls;
  const names = readdirSync(d).sort();
  for (const n of names) {
    if (n.endsWith(".crt")) tls.ca.push(readFileSync(join(d, n)));
    if (n.endsWith(".cert")) {
      const key = `${n.slice(0, -".cert".length)}.key`;
      if (!names.includes(key))
        throw hostsError(join(d, n), `client certificate without its key ${key} (as Docker requires)`);
      if (tls.client)
        throw hostsError(join(d, n), "more than one client certificate; pier uses one per host");
      tls.client = { cert: readFileSync(join(d, n)), key: readFileSync(join(d, key)) };
    }
    if (n.endsWith(".key") && !names.includes(`${n.slice(0, -".key".length)}.cert`))
      throw hostsError(join(d, n), `key without its certificate ${n.slice(0, -".key".length)}.cert`);
  }
  return tls;
}

const HOST_KEYS = new Set(["capabilities", "skip_verify", "ca", "client", "header", "override_path"]);

function readPem(file: string, base: string, path: unknown, key: string): Buffer {
  if (typeof path !== "string") throw hostsError(file, `${key}: a file path`);
  const p = isAbsolute(path) ? path : join(base, path);
  try {
    return readFileSync(p);
  } catch (err) {
    throw hostsError(file, `${key}: ${(err as Error).message}`);
  }
}

function parseHost(
  file: string,
  base: string,
  url: string,
  t: Record<string, unknown>,
  where: string,
): HostEndpoint {
  for (const k of Object.keys(t))
    if (!HOST_KEYS.has(k)) throw hostsError(file, `${where}: unknown or unsupported key "${k}"`);
  let u: URL;
  try {
    u = new URL(/^[a-z]+:\/\//i.test(url) ? url : `https://${url}`);
  } catch {
    throw hostsError(file, `${where}: "${url}" is not a URL`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:")
    throw hostsError(file, `${where}: ${u.protocol} is not http or https`);
  const path = u.pathname.replace(/\/+$/, "");
  const overridePath = t["override_path"] ?? false;
  if (typeof overridePath !== "boolean")
    throw hostsError(file, `${where}: override_path must be true or false`);
  const caps = t["capabilities"] ?? ["pull", "resolve", "push"];
  if (!Array.isArray(caps)) throw hostsError(file, `${where}: capabilities must be an array`);
  const capabilities = new Set<"pull" | "resolve" | "push">();
  for (const c of caps) {
    if (c !== "pull" && c !== "resolve" && c !== "push")
      throw hostsError(file, `${where}: capability ${JSON.stringify(c)} is not pull, resolve or push`);
    capabilities.add(c);
  }
  const skip = t["skip_verify"] ?? false;
  if (typeof skip !== "boolean") throw hostsError(file, `${where}: skip_verify must be true or false`);
  const ca = t["ca"] === undefined ? [] : Array.isArray(t["ca"]) ? t["ca"] : [t["ca"]];
  const endpoint: HostEndpoint = {
    origin: u.origin,
    apiRoot: overridePath ? `${u.origin}${path}` : `${u.origin}${path}/v2`,
    host: u.host,
    capabilities,
    ca: ca.map((c) => readPem(file, base, c, "ca")),
    skipVerify: skip,
    headers: {},
  };
  const client = t["client"];
  if (client !== undefined) {
    // containerd: "cert+key.pem", ["cert.pem", "key.pem"] or [["cert.pem", "key.pem"]]
    const pairs = typeof client === "string" ? [[client]] : Array.isArray(client) ? client : undefined;
    const list = pairs?.every((p) => typeof p === "string") ? [pairs as string[]] : (pairs as unknown[]);
    if (list?.length !== 1)
      throw hostsError(
        file,
        `${where}: client: one certificate (a path, or [cert, key]); pier uses one per host`,
      );
    const pair = list[0] as unknown;
    const [certPath, keyPath] = Array.isArray(pair) ? pair : [pair];
    const cert = readPem(file, base, certPath, "client");
    endpoint.client = { cert, key: keyPath === undefined ? cert : readPem(file, base, keyPath, "client") };
  }
  const header = t["header"];
  if (header !== undefined) {
    if (typeof header !== "object" || header === null || Array.isArray(header))
      throw hostsError(file, `${where}: header must be a table`);
    for (const [k, v] of Object.entries(header)) {
      const values = Array.isArray(v) ? v : [v];
      if (values.some((x) => typeof x !== "string")) throw hostsError(file, `${where}: header ${k}: strings`);
      endpoint.headers[k.toLowerCase()] = (values as string[]).join(", ");
    }
  }
  return endpoint;
}

/**
 * The hosts.toml of `host` in `dir`, or undefined when there is none. Throws
 * `INVALID_REGISTRIES_CONF` naming the file and key of any problem.
 */
export function loadHostsFile(dir: string, host: string): HostsFile | undefined {
  const file = join(hostDir(dir, host), "hosts.toml");
  if (!existsSync(file)) return undefined;
  if (statSync(file).size > 1024 * 1024) throw hostsError(file, "larger than 1 MiB");
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw hostsError(file, (err as Error).message);
  }
  const base = hostDir(dir, host);
  const { server, host: hosts, ...top } = doc;
  if (server !== undefined && typeof server !== "string") throw hostsError(file, "server must be a URL");
  const defaultServer = host === "docker.io" ? "https://registry-1.docker.io" : `https://${host}`;
  const serverEndpoint = parseHost(
    file,
    base,
    (server as string | undefined) ?? defaultServer,
    top,
    "server",
  );
  const mirrors: HostEndpoint[] = [];
  if (hosts !== undefined) {
    if (typeof hosts !== "object" || hosts === null || Array.isArray(hosts))
      throw hostsError(file, 'host must be [host."URL"] tables');
    // TOML tables keep their order in the file: containerd tries them in that order
    for (const [url, t] of Object.entries(hosts as Record<string, unknown>)) {
      if (typeof t !== "object" || t === null || Array.isArray(t))
        throw hostsError(file, `host."${url}": not a table`);
      const h = parseHost(file, base, url, t as Record<string, unknown>, `host."${url}"`);
      if (!h.capabilities.has("pull") && !h.capabilities.has("resolve")) continue; // push-only: not for pulls
      if (!h.capabilities.has("pull"))
        throw hostsError(
          file,
          `host."${url}": capabilities = ["resolve"] without "pull" is not supported: pier reads a pull's manifest and blobs from one host`,
        );
      mirrors.push(h);
    }
  }
  return { file, mirrors, server: serverEndpoint };
}
