/**
 * `registries.conf` as containers-registries.conf(5) and containers-registries.conf.d(5) define it:
 * the main file, then `registries.conf.d/*.conf` in name order, then the short-name alias cache.
 * `$PIER_CERTS_D` (default /etc/pier/certs.d) adds containerd's per-host hosts.toml.
 * Every key is either applied or refused with a message naming it and its file: a configuration
 * pier half-applies would send pulls where the operator did not mean them to go.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { RemoteError } from "../error.js";
import { DEFAULT_CERTS_DIR } from "./hosts-dir.js";

/** When a mirror is used, as `pull-from-mirror` says. */
export type PullFromMirror = "all" | "digest-only" | "tag-only";

/** One `[[registry.mirror]]`. */
export interface MirrorConfig {
  location: string;
  insecure: boolean;
  pullFromMirror: PullFromMirror;
}

/** One `[[registry]]` table, prefix and location normalised. */
export interface RegistryConfig {
  /** `host[:port][/path…][:tag|@digest]` or `*.domain`. */
  prefix: string;
  /** Where the prefix-rooted namespace really is; empty only under a wildcard prefix (no rewrite). */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrorByDigestOnly: boolean;
  mirrors: MirrorConfig[];
}

/** How a short name is resolved when no alias names it. */
export type ShortNameMode = "enforcing" | "permissive" | "disabled";

/** The merged configuration of every file. */
export interface RegistriesConfig {
  registries: RegistryConfig[];
  unqualifiedSearchRegistries: string[];
  shortNameMode: ShortNameMode;
  /** Short name → fully qualified repository (no tag). */
  aliases: Map<string, string>;
  /** Files read, in order (for messages and `pier info`). */
  files: string[];
  /** containerd-style `<host>/hosts.toml` and Docker-style `*.crt`/`*.cert`/`*.key` per host. */
  certsDir?: string;
}

/** Where the configuration comes from. */
export interface RegistriesConfSources {
  /** One file instead of the system/user one (`--registries-conf`, `$CONTAINERS_REGISTRIES_CONF`). */
  file?: string;
  /** Drop-in directories; default as containers-registries.conf.d(5). */
  dirs?: string[];
  /** Short-name alias cache files read after the configuration (they take precedence). */
  aliasFiles?: string[];
  /** Per-host directory (hosts.toml, certificates); default `$PIER_CERTS_D` or /etc/pier/certs.d. */
  certsDir?: string;
}

/** The empty configuration: no rewrite, Docker Hub for short names, as Docker behaves. */
export function emptyRegistriesConfig(): RegistriesConfig {
  return {
    registries: [],
    unqualifiedSearchRegistries: [],
    shortNameMode: "permissive",
    aliases: new Map(),
    files: [],
  };
}

/**
 * The files `containers-registries.conf(5)` reads when nothing is given: the user's
 * `~/.config/containers/registries.conf` (then only the user's drop-in directory) if it exists,
 * else `/etc/containers/registries.conf` and both drop-in directories. `env` may name one file
 * (`PIER_REGISTRIES_CONF`, or podman's `CONTAINERS_REGISTRIES_CONF`): then the drop-in
 * directories are still read, as containers/image does.
 */
export function defaultSources(
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): RegistriesConfSources {
  const userFile = join(home, ".config/containers/registries.conf");
  const userDir = join(home, ".config/containers/registries.conf.d");
  const cache =
    process.getuid?.() === 0
      ? "/var/cache/containers/short-name-aliases.conf"
      : join(home, ".cache/containers/short-name-aliases.conf");
  const certsDir = env["PIER_CERTS_D"] || DEFAULT_CERTS_DIR;
  const named = env["PIER_REGISTRIES_CONF"] || env["CONTAINERS_REGISTRIES_CONF"];
  if (named)
    return {
      file: named,
      dirs: ["/etc/containers/registries.conf.d", userDir],
      aliasFiles: [cache],
      certsDir,
    };
  if (existsSync(userFile)) return { file: userFile, dirs: [userDir], aliasFiles: [cache], certsDir };
  return {
    file: "/etc/containers/registries.conf",
    dirs: ["/etc/containers/registries.conf.d", userDir],
    aliasFiles: [cache],
    certsDir,
  };
}

/** Configuration files are small; a larger one is a mistake, not a configuration. */
const MAX_FILE_BYTES = 1024 * 1024;

function readToml(file: string): Record<string, unknown> {
  const size = statSync(file).size;
  if (size > MAX_FILE_BYTES) throw confError(file, `larger than ${MAX_FILE_BYTES} bytes`);
  try {
    return parseToml(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw confError(file, (err as Error).message);
  }
}

function confError(file: string, problem: string): RemoteError {
  return new RemoteError("INVALID_REGISTRIES_CONF", `${file}: ${problem}`, { detail: { file } });
}

/**
 * Loads and merges the configuration: a later file's `[[registry]]` with the same prefix replaces
 * an earlier one, `unqualified-search-registries`/`short-name-mode` replace when set, aliases
 * merge (an empty value erases one). A missing main file is an empty configuration. Throws
 * `INVALID_REGISTRIES_CONF` naming the file and key of any problem.
 */
export function loadRegistriesConfig(sources: RegistriesConfSources = defaultSources()): RegistriesConfig {
  const files: string[] = [];
  if (sources.file) {
    if (existsSync(sources.file)) files.push(sources.file);
    else if (sources.file !== "/etc/containers/registries.conf")
      throw confError(sources.file, "no such file");
  }
  for (const dir of sources.dirs ?? []) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) if (name.endsWith(".conf")) files.push(join(dir, name));
  }
  const merged = emptyRegistriesConfig();
  const byPrefix = new Map<string, RegistryConfig>();
  for (const file of files) {
    const part = parseRegistriesConf(readToml(file), file);
    for (const r of part.registries) byPrefix.set(r.prefix, r);
    if (part.unqualifiedSearchRegistries)
      merged.unqualifiedSearchRegistries = part.unqualifiedSearchRegistries;
    if (part.shortNameMode) merged.shortNameMode = part.shortNameMode;
    for (const [k, v] of part.aliases) {
      if (v === "") merged.aliases.delete(k);
      else merged.aliases.set(k, v);
    }
  }
  for (const file of sources.aliasFiles ?? []) {
    if (!existsSync(file)) continue;
    const doc = readToml(file);
    for (const key of Object.keys(doc))
      if (key !== "aliases") throw confError(file, `unknown key "${key}" in a short-name alias file`);
    for (const [k, v] of parseAliases(doc["aliases"], file)) merged.aliases.set(k, v);
    files.push(file);
  }
  merged.registries = [...byPrefix.values()];
  merged.files = files;
  if (sources.certsDir) merged.certsDir = sources.certsDir;
  return merged;
}

/** One file's content before merging. */
interface ParsedFile {
  registries: RegistryConfig[];
  unqualifiedSearchRegistries?: string[];
  shortNameMode?: ShortNameMode;
  aliases: Map<string, string>;
}

const TOP_KEYS = new Set([
  "unqualified-search-registries",
  "short-name-mode",
  "registry",
  "aliases",
  "credential-helpers",
  "registries",
]);
const REGISTRY_KEYS = new Set([
  "prefix",
  "location",
  "insecure",
  "blocked",
  "mirror",
  "mirror-by-digest-only",
]);
const MIRROR_KEYS = new Set(["location", "insecure", "pull-from-mirror"]);

function table(v: unknown, file: string, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw confError(file, `${what}: not a table`);
  return v as Record<string, unknown>;
}

function checkKeys(t: Record<string, unknown>, allowed: Set<string>, file: string, where: string): void {
  for (const k of Object.keys(t)) {
    if (!allowed.has(k)) throw confError(file, `${where}: unknown or unsupported key "${k}"`);
  }
}

function bool(v: unknown, file: string, key: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw confError(file, `"${key}" must be true or false`);
  return v;
}

function strings(v: unknown, file: string, key: string): string[] {
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string"))
    throw confError(file, `"${key}" must be an array of strings`);
  return v as string[];
}

/** Strips `scheme://` is refused; a trailing `/` is dropped, as containers/image's parseLocation. */
function location(v: unknown, file: string, key: string): string {
  if (v === undefined) return "";
  if (typeof v !== "string") throw confError(file, `"${key}" must be a string`);
  if (/^[a-z]+:\/\//i.test(v)) throw confError(file, `"${key}" = "${v}": a location has no scheme`);
  return v.replace(/\/+$/, "");
}

/** Parses one file's document (exported for tests of single documents). */
export function parseRegistriesConf(doc: Record<string, unknown>, file: string): ParsedFile {
  checkKeys(doc, TOP_KEYS, file, "top level");
  const out: ParsedFile = { registries: [], aliases: new Map() };
  if (doc["registries"] !== undefined) {
    if (doc["registry"] !== undefined || doc["unqualified-search-registries"] !== undefined)
      throw confError(file, "mixes the v1 [registries.*] tables with the v2 format");
    return parseV1(table(doc["registries"], file, "registries"), file);
  }
  if (doc["unqualified-search-registries"] !== undefined) {
    out.unqualifiedSearchRegistries = strings(
      doc["unqualified-search-registries"],
      file,
      "unqualified-search-registries",
    );
    for (const r of out.unqualifiedSearchRegistries)
      if (r.includes("/")) throw confError(file, `unqualified-search-registries: "${r}" is not host[:port]`);
  }
  const mode = doc["short-name-mode"];
  if (mode !== undefined && mode !== "") {
    if (mode !== "enforcing" && mode !== "permissive" && mode !== "disabled")
      throw confError(
        file,
        `short-name-mode: enforcing, permissive or disabled, not ${JSON.stringify(mode)}`,
      );
    out.shortNameMode = mode;
  }
  if (doc["credential-helpers"] !== undefined) {
    const helpers = strings(doc["credential-helpers"], file, "credential-helpers");
    const other = helpers.filter((h) => h !== "containers-auth.json");
    if (other.length)
      throw confError(
        file,
        `credential-helpers: pier reads credentials from auth files and config.json's credHelpers only; "${other[0]}" is not applied`,
      );
  }
  if (doc["aliases"] !== undefined) out.aliases = parseAliases(doc["aliases"], file);
  const regs = doc["registry"] === undefined ? [] : doc["registry"];
  if (!Array.isArray(regs)) throw confError(file, "registry: must be [[registry]] tables");
  for (const [i, raw] of regs.entries()) out.registries.push(parseRegistry(raw, file, i));
  const seen = new Set<string>();
  for (const r of out.registries) {
    if (seen.has(r.prefix)) throw confError(file, `two [[registry]] tables with prefix "${r.prefix}"`);
    seen.add(r.prefix);
  }
  return out;
}

function parseRegistry(raw: unknown, file: string, i: number): RegistryConfig {
  const where = `[[registry]] #${i + 1}`;
  const t = table(raw, file, where);
  checkKeys(t, REGISTRY_KEYS, file, where);
  const loc = location(t["location"], file, "location");
  let prefix = location(t["prefix"], file, "prefix");
  if (prefix === "") {
    if (loc === "") throw confError(file, `${where}: neither prefix nor location`);
    prefix = loc;
  }
  const wildcard = prefix.startsWith("*.");
  if (wildcard && /[/@:]/.test(prefix))
    throw confError(file, `${where}: wildcarded prefix "${prefix}" must be *.domain (no port, path, tag)`);
  if (prefix.includes("*") && !wildcard)
    throw confError(file, `${where}: "*" only as the first label of a prefix ("*.example.com")`);
  if (!wildcard && loc === "" && t["prefix"] !== undefined && t["location"] !== undefined)
    throw confError(file, `${where}: empty location is only allowed with a wildcarded prefix`);
  const mirrorByDigestOnly = bool(t["mirror-by-digest-only"], file, "mirror-by-digest-only");
  const mirrors: MirrorConfig[] = [];
  const rawMirrors = t["mirror"] ?? [];
  if (!Array.isArray(rawMirrors))
    throw confError(file, `${where}: mirror must be [[registry.mirror]] tables`);
  for (const [j, m] of rawMirrors.entries()) {
    const mw = `${where} mirror #${j + 1}`;
    const mt = table(m, file, mw);
    checkKeys(mt, MIRROR_KEYS, file, mw);
    const mloc = location(mt["location"], file, "location");
    if (mloc === "") throw confError(file, `${mw}: location is required`);
    const pfm = mt["pull-from-mirror"] ?? "all";
    if (pfm !== "all" && pfm !== "digest-only" && pfm !== "tag-only" && pfm !== "")
      throw confError(
        file,
        `${mw}: pull-from-mirror: all, digest-only or tag-only, not ${JSON.stringify(pfm)}`,
      );
    if (mirrorByDigestOnly && pfm !== "all" && pfm !== "")
      throw confError(file, `${mw}: pull-from-mirror cannot be set when mirror-by-digest-only = true`);
    mirrors.push({
      location: mloc,
      insecure: bool(mt["insecure"], file, "insecure"),
      pullFromMirror: pfm === "" ? "all" : pfm,
    });
  }
  return {
    prefix,
    location: wildcard ? loc : loc || prefix,
    insecure: bool(t["insecure"], file, "insecure"),
    blocked: bool(t["blocked"], file, "blocked"),
    mirrorByDigestOnly,
    mirrors,
  };
}

/** `[aliases]`: names are short names, values fully qualified repositories without tag or digest. */
function parseAliases(raw: unknown, file: string): Map<string, string> {
  const out = new Map<string, string>();
  if (raw === undefined) return out;
  for (const [name, value] of Object.entries(table(raw, file, "aliases"))) {
    if (typeof value !== "string") throw confError(file, `aliases: "${name}" must be a string`);
    const first = name.split("/")[0] ?? "";
    if (/[:@]/.test(name) || (name.includes("/") && (/[.:]/.test(first) || first === "localhost")))
      throw confError(file, `aliases: "${name}" is not a short name (no registry, tag or digest)`);
    if (value !== "" && (/[@]/.test(value) || /:[^/]*$/.test(value.split("/").slice(1).join("/"))))
      throw confError(file, `aliases: "${name}" = "${value}": no tag or digest in an alias`);
    if (value !== "" && !/[.:]/.test(value.split("/")[0] ?? "") && !value.startsWith("localhost/"))
      throw confError(file, `aliases: "${name}" = "${value}" is not fully qualified (registry/repository)`);
    out.set(name, value);
  }
  return out;
}

/** The deprecated v1 format: `[registries.search|insecure|block] registries = [...]`. */
function parseV1(t: Record<string, unknown>, file: string): ParsedFile {
  checkKeys(t, new Set(["search", "insecure", "block"]), file, "[registries]");
  const list = (k: string): string[] => {
    if (t[k] === undefined) return [];
    const sub = table(t[k], file, `registries.${k}`);
    checkKeys(sub, new Set(["registries"]), file, `[registries.${k}]`);
    return sub["registries"] === undefined
      ? []
      : strings(sub["registries"], file, `registries.${k}.registries`);
  };
  const regs = new Map<string, RegistryConfig>();
  const entry = (host: string): RegistryConfig => {
    let r = regs.get(host);
    if (!r) {
      r = {
        prefix: host,
        location: host,
        insecure: false,
        blocked: false,
        mirrorByDigestOnly: false,
        mirrors: [],
      };
      regs.set(host, r);
    }
    return r;
  };
  for (const h of list("insecure")) entry(h).insecure = true;
  for (const h of list("block")) entry(h).blocked = true;
  const search = list("search");
  return {
    registries: [...regs.values()],
    ...(search.length ? { unqualifiedSearchRegistries: search } : {}),
    aliases: new Map(),
  };
}
