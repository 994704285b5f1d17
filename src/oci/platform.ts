/**
 * Platforms (`linux/arm64/v8`): parsing, formatting, normalisation and matching, with the
 * rules of containerd's `platforms` package, so that pier picks from a multi-arch index the
 * same manifest that `docker pull` and `ctr pull` pick.
 *
 * Normal form: `os` lower-case (`macos` becomes `darwin`); architecture in Go's `GOARCH`
 * spelling (`x86_64` becomes `amd64`, `aarch64` becomes `arm64`, `armhf` becomes `arm/v7`,
 * `i386` becomes `386`); the default variant made explicit (`arm` is `arm/v7`, `arm64` is
 * `arm64/v8`) and `amd64/v1` written as plain `amd64`.
 *
 * @example
 * ```ts
 * const want = parsePlatform("linux/arm64");          // { os: "linux", architecture: "arm64", variant: "v8" }
 * const desc = selectManifest(index, want);             // the best entry, or NO_MATCHING_PLATFORM
 * formatPlatform(hostPlatform());                       // "linux/amd64"
 * ```
 */
import { OciError } from "./error.js";
import type { Descriptor, ImageIndex, Platform } from "./types.js";

const KNOWN_OS = new Set([
  "aix",
  "android",
  "darwin",
  "dragonfly",
  "freebsd",
  "hurd",
  "illumos",
  "ios",
  "js",
  "linux",
  "nacl",
  "netbsd",
  "openbsd",
  "plan9",
  "solaris",
  "wasip1",
  "windows",
  "zos",
]);

const COMPONENT = /^[a-z0-9_.-]+$/;

function invalidPlatform(input: string, problem: string): never {
  throw new OciError("INVALID_PLATFORM", `invalid platform ${JSON.stringify(input)}: ${problem}`, {
    detail: { platform: input },
  });
}

/** The normal spelling of an OS name. */
export function normalizeOs(os: string): string {
  const lower = os.toLowerCase();
  return lower === "macos" ? "darwin" : lower;
}

/**
 * The normal spelling of an architecture and its variant, as containerd's `normalizeArch`,
 * except that arm64's default variant is written out as `v8` (containerd drops it).
 */
export function normalizeArch(
  architecture: string,
  variant = "",
): { architecture: string; variant?: string } {
  let arch = architecture.toLowerCase();
  let v = variant.toLowerCase();
  switch (arch) {
    case "i386":
    case "i686":
    case "x86":
      arch = "386";
      v = "";
      break;
    case "x86_64":
    case "x86-64":
    case "amd64":
      arch = "amd64";
      if (v === "v1") v = "";
      break;
    case "aarch64":
    case "arm64":
      arch = "arm64";
      if (v === "" || v === "8" || v === "v8.0") v = "v8";
      break;
    case "armhf":
      arch = "arm";
      v = "v7";
      break;
    case "armel":
      arch = "arm";
      v = "v6";
      break;
    case "arm":
      if (v === "") v = "v7";
      else if (/^[5-8]$/.test(v)) v = `v${v}`;
      break;
  }
  return v === "" ? { architecture: arch } : { architecture: arch, variant: v };
}

/** A copy of `p` in normal form (see the module comment); other fields are kept. */
export function normalizePlatform(p: Platform): Platform {
  const { variant: _old, ...rest } = p;
  return { ...rest, os: normalizeOs(p.os), ...normalizeArch(p.architecture, p.variant) };
}

/**
 * Parses `os[(os.version)][/arch[/variant]]` or a lone architecture, as containerd's
 * `platforms.Parse`: a lone known OS gets the host's architecture; a lone unknown word is an
 * architecture on the host's OS. The result is normalised. Throws `INVALID_PLATFORM`.
 */
export function parsePlatform(input: string): Platform {
  const parts = input.split("/");
  if (parts.length > 3 || parts.some((p) => p === ""))
    invalidPlatform(input, "expected os[/architecture[/variant]]");
  let first = parts[0]!.toLowerCase();
  let osVersion: string | undefined;
  const paren = /^([^()]+)\(([^()]*)\)$/.exec(first);
  if (paren) {
    first = paren[1]!;
    osVersion = paren[2]!;
  }
  for (const part of [first, ...parts.slice(1)]) {
    if (!COMPONENT.test(part.toLowerCase()))
      invalidPlatform(input, `${JSON.stringify(part)} has characters outside [a-z0-9_.-]`);
  }
  const host = hostPlatform();
  let p: Platform;
  if (parts.length === 1) {
    p = KNOWN_OS.has(normalizeOs(first))
      ? { os: first, architecture: host.architecture, ...(host.variant ? { variant: host.variant } : {}) }
      : { os: host.os, architecture: first };
  } else {
    p = { os: first, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
  }
  if (osVersion) p["os.version"] = osVersion;
  return normalizePlatform(p);
}

/** `os/architecture[/variant]`, the form `--platform` takes; `os.version` in parentheses when set. */
export function formatPlatform(p: Platform): string {
  const os = p["os.version"] ? `${p.os}(${p["os.version"]})` : p.os;
  return `${os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

const NODE_ARCH: Readonly<Record<string, string>> = {
  x64: "amd64",
  ia32: "386",
  arm64: "arm64",
  arm: "arm",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  mips64el: "mips64le",
  mipsel: "mipsle",
  loong64: "loong64",
};

/** The platform this process runs on, normalised (arm's variant from Node's build, else `v7`). */
export function hostPlatform(): Platform {
  const armVersion = (process.config.variables as Record<string, unknown>).arm_version;
  const variant =
    process.arch === "arm" && typeof armVersion === "string" && armVersion !== "default" ? armVersion : "";
  return normalizePlatform({
    os: process.platform === "win32" ? "windows" : process.platform,
    architecture: NODE_ARCH[process.arch] ?? process.arch,
    ...(variant ? { variant } : {}),
  });
}

/** Variants a CPU of `arch`/`variant` also runs, best first (the variant itself first). */
function compatibleVariants(arch: string, variant: string | undefined): (string | undefined)[] {
  const level = /^v(\d+)$/.exec(variant ?? "");
  if (arch === "arm" && level) {
    // arm/v8 (aarch32) runs v7, v6, v5 code, as containerd's matcher allows.
    const out: string[] = [];
    for (let n = Number(level[1]); n >= 5; n--) out.push(`v${n}`);
    return out;
  }
  if (arch === "amd64") {
    // amd64 microarchitecture levels (GOAMD64): v3 runs v2 and v1 (written without a variant).
    const n = level ? Number(level[1]) : 1;
    const out: (string | undefined)[] = [];
    for (let k = n; k >= 2; k--) out.push(`v${k}`);
    out.push(undefined);
    return out;
  }
  if (arch === "arm64" && variant !== "v8" && /^v\d+(\.\d+)?$/.test(variant ?? "")) {
    // Later arm64 revisions (v8.2, v9) run baseline v8 code.
    return [variant, "v8"];
  }
  return [variant];
}

/** Windows matches on major.minor.build; a patch level difference does not matter. */
function osVersionPrefix(v: string): string {
  return v.split(".").slice(0, 3).join(".");
}

/**
 * How well `have` (an index entry's platform) serves `want`: 0 is an exact match, larger is a
 * compatible fallback (an older variant, an entry that does not state the wanted os.version),
 * `undefined` is no match. Both sides are normalised first.
 */
export function platformRank(want: Platform, have: Platform): number | undefined {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return undefined;
  const variants = compatibleVariants(w.architecture, w.variant);
  const vRank = variants.indexOf(h.variant);
  if (vRank < 0) return undefined;
  let rank = vRank * 2;
  const wv = w["os.version"];
  if (wv) {
    const hv = h["os.version"];
    if (hv === undefined) rank += 1;
    else if (osVersionPrefix(hv) !== osVersionPrefix(wv)) return undefined;
  }
  return rank;
}

/** True when an image for `have` runs on `want` (see {@link platformRank}). */
export function platformMatches(want: Platform, have: Platform): boolean {
  return platformRank(want, have) !== undefined;
}

// buildx attaches provenance/SBOM manifests to an index with the platform unknown/unknown and
// this annotation; they are never a runnable image and only clutter an error message.
const DOCKER_REFERENCE_TYPE = "vnd.docker.reference.type";

function isAttestation(d: Descriptor): boolean {
  return d.annotations?.[DOCKER_REFERENCE_TYPE] === "attestation-manifest";
}

/**
 * Picks the manifest of `index` that best serves `want`: the entry with the best
 * {@link platformRank}, the first one among equals (image-index.md: "the first matching entry
 * SHOULD be used"). Entries without a platform, and buildx attestation manifests, are skipped.
 * Throws `NO_MATCHING_PLATFORM` listing the platforms the index offers.
 */
export function selectManifest(index: Pick<ImageIndex, "manifests">, want: Platform): Descriptor {
  let best: Descriptor | undefined;
  let bestRank = Number.POSITIVE_INFINITY;
  for (const desc of index.manifests) {
    if (!desc.platform || isAttestation(desc)) continue;
    const rank = platformRank(want, desc.platform);
    if (rank !== undefined && rank < bestRank) {
      best = desc;
      bestRank = rank;
    }
  }
  if (best) return best;
  const offered = [
    ...new Set(
      index.manifests.flatMap((d) => (d.platform && !isAttestation(d) ? [formatPlatform(d.platform)] : [])),
    ),
  ];
  throw new OciError(
    "NO_MATCHING_PLATFORM",
    `no manifest for platform ${formatPlatform(normalizePlatform(want))} in the index; it offers: ${
      offered.length ? offered.join(", ") : "no platform-specific manifests"
    }`,
    { detail: { want: formatPlatform(want), offered } },
  );
}
