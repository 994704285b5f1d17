/**
 * A reference to the ordered list of places it is pulled from, as containers/image's
 * `PullSourcesFromReference`: the `[[registry]]` with the longest matching prefix, its mirrors
 * (filtered by `pull-from-mirror` / `mirror-by-digest-only`) in order, its location last.
 * The reference keeps naming the image; the endpoints only say where the bytes come from.
 */
import { parseReference, type Reference } from "../../oci/reference.js";
import { RemoteError } from "../error.js";
import type { RegistriesConfig, RegistryConfig } from "./config.js";
import { type HostEndpoint, loadHostsFile } from "./hosts-dir.js";

/** One place to pull a reference from. */
export interface PullEndpoint {
  /** The rewritten reference: its registry and repository are where to ask. */
  ref: Reference;
  /** Plain HTTP (or unverified TLS) allowed, from the table that named this endpoint. */
  insecure: boolean;
  /** True for a mirror (a failure falls through to the next endpoint). */
  mirror: boolean;
  /** Set for an endpoint of a hosts.toml: its exact URL, TLS and headers. */
  host?: HostEndpoint;
}

/** Length of `prefix`'s match at the start of `ref`, or -1 (containers/image's refMatchingPrefix). Pure. */
export function matchPrefix(ref: string, prefix: string): number {
  if (prefix.startsWith("*.")) {
    const domain = prefix.slice(1);
    const at = ref.indexOf(domain);
    if (at === -1 || ref.slice(0, at).includes("/")) return -1;
    const end = at + domain.length;
    if (end === ref.length) return end;
    return ":/@".includes(ref[end]!) ? end : -1;
  }
  if (ref.length < prefix.length || !ref.startsWith(prefix)) return -1;
  if (ref.length === prefix.length) return ref.length;
  return ":/@".includes(ref[prefix.length]!) ? prefix.length : -1;
}

/** The `[[registry]]` table for `ref`: the longest matching prefix, or undefined. Pure. */
export function findRegistry(config: RegistriesConfig, ref: Reference): RegistryConfig | undefined {
  const s = ref.toString();
  let best: RegistryConfig | undefined;
  let bestLen = -1;
  for (const r of config.registries) {
    const n = matchPrefix(s, r.prefix);
    if (n > bestLen) {
      best = r;
      bestLen = n;
    }
  }
  return best;
}

function rewrite(ref: Reference, prefix: string, location: string): Reference {
  const s = ref.toString();
  if (location === "") return ref;
  const n = matchPrefix(s, prefix);
  const rewritten = location + s.slice(n);
  try {
    return parseReference(rewritten);
  } catch (err) {
    throw new RemoteError(
      "INVALID_REGISTRIES_CONF",
      `rewriting ${s} with prefix "${prefix}" to location "${location}" gives an invalid reference ${rewritten}`,
      { cause: err },
    );
  }
}

/**
 * Where to pull `ref` from, in order. Throws `REGISTRY_BLOCKED` when its table says
 * `blocked = true` (mirrors included: the name itself is refused).
 */
export function pullEndpoints(config: RegistriesConfig, ref: Reference): PullEndpoint[] {
  const reg = findRegistry(config, ref);
  const hosts = config.certsDir ? loadHostsFile(config.certsDir, ref.registry) : undefined;
  if (hosts && reg) {
    throw new RemoteError(
      "INVALID_REGISTRIES_CONF",
      `${ref.toString()}: both ${hosts.file} and the [[registry]] prefix "${reg.prefix}" of registries.conf (${config.files.join(", ")}) configure it; keep one`,
    );
  }
  if (hosts) {
    // containerd: a host without "resolve" cannot turn a tag into a digest, so it serves digest pulls only
    const usable = hosts.mirrors.filter((h) => ref.digest !== undefined || h.capabilities.has("resolve"));
    return [...usable.map((h) => hostEndpoint(ref, h, true)), hostEndpoint(ref, hosts.server, false)];
  }
  if (!reg) return [{ ref, insecure: false, mirror: false }];
  if (reg.blocked) {
    throw new RemoteError(
      "REGISTRY_BLOCKED",
      `${ref.toString()}: pulling from "${reg.prefix}" is blocked (blocked = true in registries.conf)`,
      { detail: { prefix: reg.prefix } },
    );
  }
  const digested = ref.digest !== undefined;
  const tagged = ref.tag !== undefined;
  const out: PullEndpoint[] = [];
  for (const m of reg.mirrors) {
    if (reg.mirrorByDigestOnly && !digested) continue;
    if (m.pullFromMirror === "digest-only" && !digested) continue;
    if (m.pullFromMirror === "tag-only" && !tagged) continue;
    out.push({ ref: rewrite(ref, reg.prefix, m.location), insecure: m.insecure, mirror: true });
  }
  out.push({ ref: rewrite(ref, reg.prefix, reg.location), insecure: reg.insecure, mirror: false });
  return out;
}

function hostEndpoint(ref: Reference, h: HostEndpoint, mirror: boolean): PullEndpoint {
  const r = parseReference(
    `${h.host}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`,
  );
  return { ref: r, insecure: h.origin.startsWith("http:") || h.skipVerify, mirror, host: h };
}

/** True when pushing to or naming `ref` is refused (`blocked = true`). Pure. */
export function isBlocked(config: RegistriesConfig, ref: Reference): boolean {
  return findRegistry(config, ref)?.blocked === true;
}

/** Registries (host[:port]) marked insecure by some table or mirror, for `pier info`. Pure. */
export function insecureRegistries(config: RegistriesConfig): string[] {
  const hosts = new Set<string>();
  for (const r of config.registries) {
    if (r.insecure && r.location) hosts.add(r.location.split("/")[0]!);
    for (const m of r.mirrors) if (m.insecure) hosts.add(m.location.split("/")[0]!);
  }
  return [...hosts];
}
