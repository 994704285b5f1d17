/**
 * Docker's seccomp profile format (the `--security-opt seccomp=PROFILE.json` file, moby's
 * `profiles/seccomp`) and its rendering into one container's runtime-spec `linux.seccomp`, with
 * the rules of the Docker daemon: the architectures of the native `archMap` entry, a rule kept
 * only when its `includes` hold (every listed capability in the container's bounding set, the
 * native architecture listed, the kernel at least `minKernel`) and no `excludes` hold. Pure.
 * Below the engine so that build steps (`src/build`) are confined as containers are.
 */
import { parseExactJson } from "../../oci/exact-json.js";
import {
  type LinuxSeccomp,
  SECCOMP_VALUE_KEYS,
  validateLinuxSeccomp,
} from "../../oci/runtime-spec/seccomp.js";
import { SeccompError } from "./error.js";

/** One argument condition of a Docker profile rule. */
export interface DockerSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

/** When a Docker profile rule applies (`includes`) or does not (`excludes`). */
export interface DockerSeccompFilter {
  caps?: string[];
  /** Go architecture names: `amd64`, `arm64`, `x86`, `x32`, `s390x`… */
  arches?: string[];
  minKernel?: string;
}

/** One rule of a Docker profile. */
export interface DockerSeccompRule {
  names?: string[];
  /** The old single-name form. */
  name?: string;
  action: string;
  errnoRet?: number;
  args?: DockerSeccompArg[];
  comment?: string;
  includes?: DockerSeccompFilter;
  excludes?: DockerSeccompFilter;
}

/** A Docker seccomp profile. */
export interface DockerSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures: string[] | null }[];
  syscalls?: DockerSeccompRule[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
}

/** What a rendering depends on besides the profile. */
export interface SeccompRenderContext {
  /** The container's bounding capabilities (`CAP_…`). */
  caps: readonly string[];
  /** Go's name of the native architecture (`amd64`, `arm64`). */
  arch: string;
  /** The kernel release (`6.1.0-13-amd64`). */
  kernel: string;
}

/** Go's architecture name for a Node.js `process.arch`. */
export function goArch(nodeArch: string = process.arch): string {
  const names: Record<string, string> = {
    x64: "amd64",
    ia32: "x86",
    arm64: "arm64",
    arm: "arm",
    s390x: "s390x",
    ppc64: "ppc64le",
    riscv64: "riscv64",
  };
  return names[nodeArch] ?? nodeArch;
}

const SCMP_ARCH: Record<string, string> = {
  amd64: "SCMP_ARCH_X86_64",
  arm64: "SCMP_ARCH_AARCH64",
  arm: "SCMP_ARCH_ARM",
  x86: "SCMP_ARCH_X86",
  s390x: "SCMP_ARCH_S390X",
  ppc64le: "SCMP_ARCH_PPC64LE",
  riscv64: "SCMP_ARCH_RISCV64",
};

function kernelAtLeast(release: string, min: string): boolean {
  const parse = (v: string) =>
    (/^(\d+)\.(\d+)/.exec(v) ?? [0, 0, 0]).slice(1).map(Number) as [number, number];
  const [a, b] = parse(release);
  const [c, d] = parse(min);
  return a > c || (a === c && b >= d);
}

function applies(rule: DockerSeccompRule, ctx: SeccompRenderContext): boolean {
  const inc = rule.includes ?? {};
  const exc = rule.excludes ?? {};
  if (inc.arches?.length && !inc.arches.includes(ctx.arch)) return false;
  if (inc.caps?.length && !inc.caps.every((c) => ctx.caps.includes(c))) return false;
  if (inc.minKernel && !kernelAtLeast(ctx.kernel, inc.minKernel)) return false;
  if (exc.arches?.includes(ctx.arch)) return false;
  if (exc.caps?.some((c) => ctx.caps.includes(c))) return false;
  if (exc.minKernel && kernelAtLeast(ctx.kernel, exc.minKernel)) return false;
  return true;
}

/**
 * A Docker profile rendered for one container, validated as a runtime-spec `linux.seccomp`;
 * errors name the profile field. Pure.
 */
export function renderDockerSeccomp(profile: DockerSeccompProfile, ctx: SeccompRenderContext): LinuxSeccomp {
  if (profile.architectures?.length && profile.archMap?.length)
    throw new SeccompError("INVALID_PROFILE", "seccomp profile: use either 'architectures' or 'archMap'");
  let architectures = profile.architectures;
  const native = SCMP_ARCH[ctx.arch];
  const entry = profile.archMap?.find((a) => a.architecture === native);
  if (entry) architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
  const syscalls = (profile.syscalls ?? [])
    .filter((r) => applies(r, ctx))
    .map((r) => {
      if (r.name && r.names?.length)
        throw new SeccompError("INVALID_PROFILE", "seccomp profile: use either 'name' or 'names'");
      return {
        names: r.names ?? (r.name ? [r.name] : []),
        action: r.action,
        ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}),
        ...(r.args?.length ? { args: r.args } : {}),
      };
    });
  const raw = {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    ...(architectures?.length ? { architectures } : {}),
    ...(profile.flags?.length ? { flags: profile.flags } : {}),
    ...(profile.listenerPath ? { listenerPath: profile.listenerPath } : {}),
    ...(profile.listenerMetadata ? { listenerMetadata: profile.listenerMetadata } : {}),
    syscalls,
  };
  try {
    return validateLinuxSeccomp(raw, "seccomp profile");
  } catch (err) {
    throw new SeccompError("INVALID_PROFILE", (err as Error).message, { cause: err });
  }
}

/**
 * An untrusted Docker profile (the text of `--security-opt seccomp=…`): JSON, an object with
 * a `defaultAction`; field types are checked by {@link renderDockerSeccomp}. Pure.
 */
export function parseDockerSeccomp(text: string): DockerSeccompProfile {
  let v: unknown;
  try {
    // Argument values are uint64: kept exact beyond 2^53 (a JS number would round them).
    v = parseExactJson(text, SECCOMP_VALUE_KEYS);
  } catch (err) {
    throw new SeccompError("INVALID_PROFILE", `seccomp profile is not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new SeccompError("INVALID_PROFILE", "seccomp profile must be a JSON object");
  const p = v as Record<string, unknown>;
  if (typeof p.defaultAction !== "string")
    throw new SeccompError("INVALID_PROFILE", "seccomp profile: defaultAction must be a string");
  for (const k of ["syscalls", "archMap", "architectures", "flags"] as const)
    if (p[k] !== undefined && p[k] !== null && !Array.isArray(p[k]))
      throw new SeccompError("INVALID_PROFILE", `seccomp profile: ${k} must be an array`);
  for (const [i, r] of ((p.syscalls as unknown[] | undefined) ?? []).entries()) {
    if (typeof r !== "object" || r === null || Array.isArray(r))
      throw new SeccompError("INVALID_PROFILE", `seccomp profile: syscalls[${i}] must be an object`);
    for (const k of ["includes", "excludes"] as const) {
      const f = (r as Record<string, unknown>)[k];
      if (f === undefined || f === null) continue;
      const o = f as Record<string, unknown>;
      if (
        typeof f !== "object" ||
        (o.caps != null && !Array.isArray(o.caps)) ||
        (o.arches != null && !Array.isArray(o.arches)) ||
        (o.minKernel != null && typeof o.minKernel !== "string")
      )
        throw new SeccompError("INVALID_PROFILE", `seccomp profile: syscalls[${i}].${k} is malformed`);
    }
  }
  return p as unknown as DockerSeccompProfile;
}
