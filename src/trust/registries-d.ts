/**
 * `containers-registries.d(5)`: where signatures of a registry's images live. Each `*.yaml` file
 * of the directory may set `default-docker` (once across files) and `docker: {SCOPE: …}` entries
 * (each scope once); the most specific scope of an image's reference wins, as in c/image.
 * Supported per entry: `use-sigstore-attachments`, and a `lookaside`/`sigstore` read location
 * when it is a `file://` URL (GPG simple signatures, as skopeo writes them). `http(s)://`
 * lookasides are reported as unsupported when signatures are needed, never silently skipped.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import { isErrno } from "../errors.js";
import type { Reference } from "../oci/reference.js";
import { TrustError } from "./error.js";
import { dockerScopes } from "./scopes.js";

/** The system directory skopeo reads. */
export const SYSTEM_REGISTRIES_D = "/etc/containers/registries.d";

/** Where signatures of one scope are found or written. */
export interface SignatureStorage {
  /** `lookaside` (or its older name `sigstore`): where simple signatures are read. */
  lookaside?: string;
  /** `lookaside-staging` (or `sigstore-staging`): where they are written. */
  lookasideStaging?: string;
  /** `use-sigstore-attachments`. */
  useSigstoreAttachments?: boolean;
}

/** A parsed registries.d directory. */
export interface RegistriesD {
  defaultDocker?: SignatureStorage;
  docker: Map<string, SignatureStorage>;
}

/** The directory skopeo would use: `$HOME/.config/containers/registries.d` if it exists, else the system one. */
export function defaultRegistriesDir(): string {
  const user = join(homedir(), ".config/containers/registries.d");
  try {
    readdirSync(user);
    return user;
  } catch {
    return SYSTEM_REGISTRIES_D;
  }
}

/** Reads every `*.yaml` file of `dir` (an absent directory is an empty configuration). */
export function loadRegistriesD(dir: string = defaultRegistriesDir()): RegistriesD {
  const out: RegistriesD = { docker: new Map() };
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith(".yaml"))
      .sort();
  } catch (err) {
    if (isErrno(err, "ENOENT")) return out;
    throw err;
  }
  for (const name of names) {
    const path = join(dir, name);
    let doc: unknown;
    try {
      // The YAML parser is loaded only when a registries.d file exists.
      const { parse } = createRequire(import.meta.url)("yaml") as typeof import("yaml");
      doc = parse(readFileSync(path, "utf8"), { maxAliasCount: 16 });
    } catch (err) {
      throw new TrustError("INVALID_POLICY", `${path}: not YAML: ${(err as Error).message}`, { cause: err });
    }
    if (doc === null || doc === undefined) continue;
    if (typeof doc !== "object" || Array.isArray(doc))
      throw new TrustError("INVALID_POLICY", `${path}: not a mapping`);
    const o = doc as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (k !== "default-docker" && k !== "docker") {
        throw new TrustError("INVALID_POLICY", `${path}: unknown field ${JSON.stringify(k)}`);
      }
    }
    if (o["default-docker"] !== undefined) {
      if (out.defaultDocker)
        throw new TrustError("INVALID_POLICY", `${path}: default-docker is set in more than one file`);
      out.defaultDocker = parseStorage(o["default-docker"], `${path}: default-docker`);
    }
    const docker = o["docker"];
    if (docker !== undefined && docker !== null) {
      if (typeof docker !== "object" || Array.isArray(docker)) {
        throw new TrustError("INVALID_POLICY", `${path}: docker must be a mapping`);
      }
      for (const [scope, v] of Object.entries(docker as Record<string, unknown>)) {
        if (out.docker.has(scope))
          throw new TrustError("INVALID_POLICY", `${path}: docker scope ${scope} is set twice`);
        out.docker.set(scope, parseStorage(v, `${path}: docker.${scope}`));
      }
    }
  }
  return out;
}

function parseStorage(v: unknown, where: string): SignatureStorage {
  if (v === null) return {};
  if (typeof v !== "object" || Array.isArray(v))
    throw new TrustError("INVALID_POLICY", `${where}: not a mapping`);
  const out: SignatureStorage = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    const str = (): string => {
      if (typeof val !== "string")
        throw new TrustError("INVALID_POLICY", `${where}.${k}: must be a URL string`);
      return val;
    };
    switch (k) {
      case "lookaside":
      case "sigstore":
        out.lookaside = str();
        break;
      case "lookaside-staging":
      case "sigstore-staging":
        out.lookasideStaging = str();
        break;
      case "use-sigstore-attachments":
        if (typeof val !== "boolean")
          throw new TrustError("INVALID_POLICY", `${where}.${k}: must be true or false`);
        out.useSigstoreAttachments = val;
        break;
      default:
        throw new TrustError("INVALID_POLICY", `${where}: unknown field ${JSON.stringify(k)}`);
    }
  }
  return out;
}

/** The storage configuration for `ref`: the most specific `docker` scope, else `default-docker`. */
export function storageFor(config: RegistriesD, ref: Reference): SignatureStorage {
  for (const scope of dockerScopes(ref)) {
    const s = config.docker.get(scope);
    if (s) return s;
  }
  return config.defaultDocker ?? {};
}
