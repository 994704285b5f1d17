/**
 * Short-name resolution as podman does it (containers-registries.conf(5), "Short-Name Aliasing"):
 * an alias wins; else the unqualified-search registries, asked about on a terminal in
 * enforcing/permissive mode when there are several, refused without one in enforcing mode.
 * With no alias and no search registry pier falls back to Docker Hub, as Docker does.
 */
import { DEFAULT_REGISTRY, parseReference, type Reference } from "../../oci/reference.js";
import { RemoteError } from "../error.js";
import type { RegistriesConfig } from "./config.js";

/** True when `input` names no registry (`busybox`, `user/app:1`), as containers/image's isShortName. Pure. */
export function isShortName(input: string): boolean {
  const slash = input.indexOf("/");
  if (slash === -1) return true;
  const first = input.slice(0, slash);
  return !/[.:]/.test(first) && first !== "localhost";
}

/** Where a short name resolved: candidates in order, and how. */
export interface ShortNameResolution {
  candidates: Reference[];
  /** `alias`, `search` (one or every search registry), `prompt`, `docker-hub` (nothing configured), `qualified`. */
  how: "qualified" | "alias" | "search" | "prompt" | "docker-hub";
}

/** Asks the user to pick one of `choices` (only called with stdin and stdout on a terminal). */
export type ShortNamePrompt = (name: string, choices: readonly string[]) => Promise<string>;

/**
 * Resolves `input` to the references to try in order. `prompt` is given only when stdin and
 * stdout are terminals (never in pierd). Throws `SHORT_NAME` for an ambiguous name in enforcing
 * mode without a terminal, `INVALID_REFERENCE` for a bad name.
 */
export async function resolveShortName(
  config: RegistriesConfig,
  input: string,
  prompt?: ShortNamePrompt,
): Promise<ShortNameResolution> {
  if (!isShortName(input)) return { candidates: [parseReference(input)], how: "qualified" };
  // the tag or digest is kept aside and added to whatever the name resolves to
  const at = input.indexOf("@");
  const beforeDigest = at < 0 ? input : input.slice(0, at);
  const colon = beforeDigest.lastIndexOf(":");
  const name = colon > beforeDigest.lastIndexOf("/") ? beforeDigest.slice(0, colon) : beforeDigest;
  const suffix = input.slice(name.length);
  parseReference(input); // the short name itself must be valid
  const alias = config.aliases.get(name);
  if (alias) return { candidates: [parseReference(alias + suffix)], how: "alias" };
  const search = config.unqualifiedSearchRegistries;
  if (search.length === 0)
    return { candidates: [parseReference(`${DEFAULT_REGISTRY}/${name}${suffix}`)], how: "docker-hub" };
  const all = search.map((r) => parseReference(`${r}/${name}${suffix}`));
  if (search.length === 1 || config.shortNameMode === "disabled") return { candidates: all, how: "search" };
  if (prompt) {
    const choice = await prompt(
      name,
      all.map((r) => r.name),
    );
    const picked = all.find((r) => r.name === choice);
    if (!picked) throw new RemoteError("SHORT_NAME", `short name "${name}": no candidate chosen`);
    return { candidates: [picked], how: "prompt" };
  }
  if (config.shortNameMode === "enforcing") {
    throw new RemoteError(
      "SHORT_NAME",
      `short-name resolution enforced but cannot prompt without a TTY: "${name}" could be ${all
        .map((r) => r.name)
        .join(
          ", ",
        )}; use the fully qualified name or add an alias ([aliases] in registries.conf, ${config.files.join(", ") || "no file"})`,
      { detail: { name, candidates: all.map((r) => r.name) } },
    );
  }
  return { candidates: all, how: "search" };
}
