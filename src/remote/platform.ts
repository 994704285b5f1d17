/**
 * Platform choice for indexes and manifest lists. A local stand-in until `src/oci/platform.ts`
 * lands (`hostPlatform`, `selectManifest`), with the same semantics: exact os/architecture, and a
 * variant when one is asked for (arm64 defaults to v8, arm to v7 as containerd normalises).
 */
import { arch } from "node:os";
import type { Descriptor, ImageIndex, Platform } from "../oci/types.js";
import { RemoteError } from "./error.js";

const NODE_TO_OCI_ARCH: Readonly<Record<string, string>> = {
  x64: "amd64",
  ia32: "386",
  arm64: "arm64",
  arm: "arm",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  mips64el: "mips64le",
  loong64: "loong64",
};

/** The platform of this machine, in OCI terms (`linux/amd64`). */
export function hostPlatform(): Platform {
  return { os: "linux", architecture: NODE_TO_OCI_ARCH[arch()] ?? arch() };
}

/** Parses `os/arch[/variant]` as `--platform` takes it. */
export function parsePlatform(text: string): Platform {
  const parts = text.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    throw new RemoteError(
      "INVALID_REFERENCE",
      `invalid platform ${JSON.stringify(text)}: want os/arch[/variant]`,
    );
  }
  const p: Platform = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2]) p.variant = parts[2];
  return p;
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

function normalVariant(p: Platform): string | undefined {
  if (p.variant) return p.variant;
  if (p.architecture === "arm64") return "v8";
  return undefined;
}

/** True when an index entry's platform satisfies `want`. Pure. */
export function platformMatches(have: Platform | undefined, want: Platform): boolean {
  if (!have) return false;
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  const wv = normalVariant(want);
  return wv === undefined || normalVariant(have) === wv;
}

/**
 * The index entry for `want`; throws `NO_MATCHING_PLATFORM` listing what the index offers.
 * Entries without a platform (attestations, artifacts) are never chosen.
 */
export function selectManifest(index: ImageIndex, want: Platform): Descriptor {
  const found = index.manifests.find((m) => platformMatches(m.platform, want));
  if (found) return found;
  const offered = index.manifests.flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : [])).join(", ");
  throw new RemoteError(
    "NO_MATCHING_PLATFORM",
    `no manifest for platform ${formatPlatform(want)} in the index (it has: ${offered || "none"})`,
  );
}
