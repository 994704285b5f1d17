/**
 * Conversion of an image config into a runtime-spec `config.json`, as image-spec
 * `conversion.md` prescribes, on top of a base spec (the default `runc spec` gives, or any
 * caller-made one). Pure: the caller reads `/etc/passwd` and `/etc/group` from the rootfs.
 *
 * | image config | runtime config |
 * |---|---|
 * | `Config.Entrypoint` + `Config.Cmd` | `process.args` (Entrypoint, then Cmd; either alone; neither: `NO_COMMAND`) |
 * | `Config.Env` | `process.env` (replaces same-named base entries in place, appends the rest; then `HOME` from `/etc/passwd` when unset) |
 * | `Config.WorkingDir` | `process.cwd` (default `/`, made absolute) |
 * | `Config.User` | `process.user` (see `bundle-config-user.ts`) |
 * | `os`, `architecture`, `variant`, `os.version`, `os.features`, `author`, `created`, `Config.StopSignal`, `Config.ExposedPorts` | `annotations` (`org.opencontainers.image.*`) |
 * | `Config.Labels` | `annotations`, taking precedence over everything above |
 *
 * `Config.Volumes` is optional in conversion.md and needs host storage, so it is not turned into
 * mounts here; {@link imageVolumes} lists the destinations for the engine to mount.
 *
 * @example
 * ```ts
 * const spec = runtimeConfigFromImage(image.config, defaultRuntimeSpec(), { passwd, group });
 * await writeFile(join(bundle, "config.json"), JSON.stringify(spec, null, 2));
 * ```
 */
import { posix } from "node:path";
import { Annotation } from "../oci/annotations.js";
import { OciError } from "../oci/error.js";
import type { ImageConfig } from "../oci/types.js";
import { resolveUser, type UserFiles } from "./bundle-config-user.js";

export type { UserFiles } from "./bundle-config-user.js";

/**
 * The fields of a runtime spec this conversion reads and writes. The full `Spec` of
 * `src/oci/runtime-spec/config.ts` satisfies it, and {@link runtimeConfigFromImage} returns the
 * caller's own type, so the two compose without either depending on the other's details.
 */
export interface RuntimeSpecBase {
  process?: {
    args?: string[];
    env?: string[];
    cwd?: string;
    user?: { uid: number; gid: number; additionalGids?: number[] };
  };
  annotations?: Record<string, string>;
  root?: { path: string; readonly?: boolean };
}

/** The name of an `env` entry (`NAME=value` gives `NAME`). */
function envName(entry: string): string {
  const eq = entry.indexOf("=");
  return eq < 0 ? entry : entry.slice(0, eq);
}

/**
 * Docker's `ReplaceOrAppendEnvValues`: entries of `overrides` replace same-named entries of
 * `defaults` in place; new names are appended in order.
 */
export function mergeEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const out = [...defaults];
  const at = new Map(out.map((e, i) => [envName(e), i]));
  for (const e of overrides) {
    const i = at.get(envName(e));
    if (i === undefined) {
      at.set(envName(e), out.length);
      out.push(e);
    } else {
      out[i] = e;
    }
  }
  return out;
}

/**
 * `process.args` from Entrypoint and Cmd: both concatenated, or whichever is non-empty.
 * Throws `OciError` `NO_COMMAND` when both are empty or absent.
 */
export function argsFromImage(config: ImageConfig): string[] {
  const entrypoint = config.config?.Entrypoint ?? [];
  const cmd = config.config?.Cmd ?? [];
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw new OciError(
      "NO_COMMAND",
      "the image config has neither Entrypoint nor Cmd: there is no command to run",
    );
  }
  return args;
}

/**
 * The implicit annotations of conversion.md, overridden by `Config.Labels` (labels win on a
 * conflict, as conversion.md requires).
 */
export function annotationsFromImage(config: ImageConfig): Record<string, string> {
  const out: Record<string, string> = {};
  const set = (key: string, value: string | undefined) => {
    if (value !== undefined && value !== "") out[key] = value;
  };
  set(Annotation.Os, config.os);
  set(Annotation.Architecture, config.architecture);
  set(Annotation.Variant, config.variant);
  set(Annotation.OsVersion, config["os.version"]);
  set(Annotation.OsFeatures, config["os.features"]?.join(","));
  set(Annotation.Author, config.author);
  set(Annotation.Created, config.created);
  set(Annotation.StopSignal, config.config?.StopSignal);
  // Sorted: Go writes map keys in random order, and the annotation should not change between runs.
  set(
    Annotation.ExposedPorts,
    Object.keys(config.config?.ExposedPorts ?? {})
      .sort()
      .join(","),
  );
  return { ...out, ...(config.config?.Labels ?? {}) };
}

/** The destinations of `Config.Volumes`, absolute and sorted, for the engine to mount. */
export function imageVolumes(config: ImageConfig): string[] {
  return Object.keys(config.config?.Volumes ?? {})
    .map((v) => posix.resolve("/", v))
    .sort();
}

/**
 * The runtime config for `image` on top of `base` (not modified; a deep copy is returned).
 * Everything of `base` that conversion.md does not cover (mounts, namespaces, capabilities,
 * `root`) is kept. Throws `OciError` `NO_COMMAND` (no Entrypoint nor Cmd), `USER_NOT_FOUND`
 * (a user or group name the image's files lack) or `INVALID_DOCUMENT` (a malformed User, an Env
 * entry without `=`).
 */
export function runtimeConfigFromImage<T extends RuntimeSpecBase>(
  image: ImageConfig,
  base: T,
  files: UserFiles = {},
): T {
  const spec = structuredClone(base);
  const cfg = image.config ?? {};
  const user = resolveUser(cfg.User ?? "", files);
  const process = spec.process ?? {};
  process.args = argsFromImage(image);
  (cfg.Env ?? []).forEach((e, i) => {
    // runc refuses such an entry at start; say which one, and say it now.
    if (e.indexOf("=") <= 0) {
      throw new OciError(
        "INVALID_DOCUMENT",
        `config.config.Env[${i}]: must be NAME=value: ${JSON.stringify(e)}`,
      );
    }
  });
  process.env = mergeEnv(process.env ?? [], cfg.Env ?? []);
  // As umoci, Docker and runc do: a user with a passwd entry gets its HOME unless the image sets one.
  if (user.home && !process.env.some((e) => envName(e) === "HOME")) process.env.push(`HOME=${user.home}`);
  process.cwd = cfg.WorkingDir ? posix.resolve("/", cfg.WorkingDir) : "/";
  process.user = { ...process.user, uid: user.uid, gid: user.gid };
  if (user.additionalGids.length > 0) process.user.additionalGids = user.additionalGids;
  else delete process.user.additionalGids;
  spec.process = process;
  spec.annotations = { ...spec.annotations, ...annotationsFromImage(image) };
  return spec;
}
