/**
 * The registry's `trust` config: repositories whose images are served only when signed. A
 * manifest `GET` in a protected repository is refused with `DENIED` unless a sigstore
 * attachment (`sha256-<hex>.sig` in the same repository) or an OCI 1.1 signature referrer holds
 * a signature of that manifest by one of the rule's keys, naming this repository. Signature artifacts themselves are always
 * served (clients must read them to verify), `HEAD` is not refused (it carries no content) and
 * pushes are never blocked: signing happens after the push.
 *
 * Only the pure verification of `src/trust` is used here (no registry client).
 */
import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Digest } from "../oci/digest.js";
import { tryParseReference } from "../oci/reference.js";
import { readPublicKeys } from "../trust/keys.js";
import {
  attachmentTag,
  DSSE_MEDIA_TYPE,
  MAX_SIGNATURES,
  SIGNATURE_ARTIFACT_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from "../trust/signature.js";
import { verifySigstoreSignature } from "../trust/verify.js";
import { globToRegExp } from "./auth/access.js";
import type { RegistryContext } from "./context.js";
import { RegistryError } from "./errors.js";
import type { ManifestRow } from "./metadata.js";

/** One `trust` rule of the config: repository globs and the PEM public keys (or key file paths). */
export interface TrustRule {
  repositories: string | string[];
  keys: string[];
}

interface CompiledRule {
  repos: RegExp[];
  keys: KeyObject[];
}

const compiled = new WeakMap<readonly TrustRule[], CompiledRule[]>();

/** Validates and compiles the rules (keys parsed once); throws naming the bad field. */
export function compileTrustRules(rules: readonly TrustRule[]): CompiledRule[] {
  const hit = compiled.get(rules);
  if (hit) return hit;
  const bad = (msg: string): never => {
    throw new RegistryError("UNSUPPORTED", `registry config: ${msg}`, { status: 500 });
  };
  if (!Array.isArray(rules)) bad("trust must be a list of {repositories, keys}");
  const out = rules.map((r, i) => {
    const repos = typeof r.repositories === "string" ? [r.repositories] : r.repositories;
    if (!Array.isArray(repos) || repos.length === 0 || repos.some((p) => typeof p !== "string" || p === "")) {
      bad(`trust[${i}].repositories must be a glob or a list of globs`);
    }
    if (!Array.isArray(r.keys) || r.keys.length === 0) bad(`trust[${i}].keys must list PEM public keys`);
    const keys = r.keys.flatMap((k, j) => {
      try {
        const pem =
          typeof k === "string" && !k.trimStart().startsWith("-----BEGIN") ? readFileSync(k, "utf8") : k;
        return readPublicKeys(pem, `trust[${i}].keys[${j}]`);
      } catch (err) {
        return bad((err as Error).message);
      }
    });
    for (const k of Object.keys(r))
      if (k !== "repositories" && k !== "keys") bad(`trust[${i}]: unknown field ${k}`);
    return { repos: repos.map(globToRegExp), keys };
  });
  compiled.set(rules, out);
  return out;
}

/**
 * Throws `DENIED` when `name` is protected and `row` (about to be served) has no valid signature
 * by a key of the matching rule. A no-op for unprotected repositories and signature artifacts.
 */
export async function checkTrustedPull(
  ctx: RegistryContext,
  name: string,
  row: ManifestRow,
  body: Buffer,
  readBlob: (digest: Digest, max: number) => Promise<Buffer>,
): Promise<void> {
  const rules = ctx.config.trust;
  if (!rules || rules.length === 0) return;
  const rule = compileTrustRules(rules).find((r) => r.repos.some((re) => re.test(name)));
  if (!rule || isSignatureArtifact(body)) return;
  const digest = row.digest as Digest;
  const why = await signatureProblem(ctx, name, digest, rule.keys, readBlob);
  if (why !== undefined) {
    throw new RegistryError("DENIED", `${name}@${digest} is not served: ${why}`, {
      detail: { name, digest, signature: attachmentTag(digest) },
    });
  }
}

/**
 * Undefined when a valid signature exists — in the `.sig` attachment or an OCI 1.1 signature
 * referrer of the manifest — else what is missing or wrong.
 */
async function signatureProblem(
  ctx: RegistryContext,
  name: string,
  digest: Digest,
  keys: KeyObject[],
  readBlob: (digest: Digest, max: number) => Promise<Buffer>,
): Promise<string | undefined> {
  const tag = attachmentTag(digest);
  const candidates: string[] = [];
  const attached = ctx.meta.resolveTag(name, tag);
  if (attached !== undefined && ctx.meta.manifest(name, attached)) candidates.push(attached);
  for (const r of ctx.meta.referrers(name, digest)) {
    if (r.artifactType === SIGNATURE_ARTIFACT_TYPE) candidates.push(r.digest);
  }
  if (candidates.length === 0) {
    return `the repository requires a signature and ${name}:${tag} is missing (nor is there a signature referrer)`;
  }
  const reasons: string[] = [];
  let checked = 0;
  for (const sigDigest of candidates) {
    let layers: { mediaType?: string; digest?: string; annotations?: Record<string, string> }[];
    try {
      const doc = JSON.parse(
        (await readBlob(sigDigest as Digest, ctx.config.storage.maxManifestBytes)).toString("utf8"),
      );
      layers = Array.isArray(doc.layers) ? doc.layers : [];
    } catch {
      reasons.push(`${sigDigest} is not a signature manifest`);
      continue;
    }
    for (const l of layers) {
      if (l.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE || typeof l.digest !== "string") continue;
      if (++checked > MAX_SIGNATURES) break;
      try {
        const payload = await readBlob(l.digest as Digest, 4 << 20);
        const v = verifySigstoreSignature({ payload, annotations: l.annotations ?? {} }, keys, digest);
        // The signature must name this repository (on whatever host the signer reached it).
        const signed = tryParseReference(v.payload.dockerReference, { defaultTag: false });
        if (signed?.repository === name) return undefined;
        reasons.push(`signed for ${v.payload.dockerReference}, not this repository`);
      } catch (err) {
        reasons.push((err as Error).message);
      }
    }
  }
  return `no valid signature of it (${reasons.join("; ") || "no signature layer"})`;
}

/**
 * A signature or attestation manifest (every layer a simple-signing payload or a DSSE envelope:
 * nothing a client could run), or a referrers list (an index of artifacts, each checked when
 * fetched): always readable.
 */
function isSignatureArtifact(body: Buffer): boolean {
  try {
    const doc = JSON.parse(body.toString("utf8")) as {
      layers?: { mediaType?: unknown }[];
      manifests?: { artifactType?: unknown }[];
    };
    if (Array.isArray(doc.manifests) && doc.manifests.length > 0) {
      return doc.manifests.every((m) => typeof m.artifactType === "string");
    }
    return (
      Array.isArray(doc.layers) &&
      doc.layers.length > 0 &&
      doc.layers.every((l) => l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE || l.mediaType === DSSE_MEDIA_TYPE)
    );
  } catch {
    return false;
  }
}
