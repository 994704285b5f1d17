/**
 * `containers-policy.json(5)`: which images may be used, per transport and scope. Requirements
 * supported: `insecureAcceptAnything`, `reject`, `sigstoreSigned` (keyPath, keyData, keyPaths)
 * and `signedBy` (keyType GPGKeys with keyPath, keyPaths or keyData), each with `signedIdentity`.
 * Every requirement of the chosen list must be satisfied; a signed requirement is satisfied by
 * one signature that verifies and whose identity matches. Anything pier does not implement
 * (fulcio, rekor, X.509 keys) is refused when the policy is loaded, naming the field.
 */

import type { KeyObject } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { Key } from "openpgp";
import type { Digest } from "../oci/digest.js";
import type { Reference } from "../oci/reference.js";
import { TrustError } from "./error.js";
import { readGpgKeyring, verifyGpgSignature } from "./gpg.js";
import { identityMatches, parseSignedIdentity, type SignedIdentity } from "./identity.js";
import { readPublicKeys } from "./keys.js";
import { GPG_PAYLOAD_TYPE, parsePayload, type SignaturePayload } from "./payload.js";
import type { SigstoreSignature } from "./signature.js";
import { verifySigstoreSignature } from "./verify.js";

/** The system policy path skopeo reads. */
export const SYSTEM_POLICY_PATH = "/etc/containers/policy.json";

/** One requirement, keys already loaded. */
export type PolicyRequirement =
  | { type: "insecureAcceptAnything"; where: string }
  | { type: "reject"; where: string }
  | {
      type: "sigstoreSigned";
      where: string;
      keys: KeyObject[];
      keyNames: string[];
      signedIdentity: SignedIdentity;
    }
  | { type: "signedBy"; where: string; keyring: Key[]; signedIdentity: SignedIdentity };

/** A loaded policy. */
export interface TrustPolicy {
  /** Where it came from, for messages. */
  source: string;
  default: PolicyRequirement[];
  transports: Map<string, Map<string, PolicyRequirement[]>>;
}

/** `$HOME/.config/containers/policy.json` when it exists, else the system one (as skopeo). */
export function defaultPolicyPath(): string {
  const user = join(homedir(), ".config/containers/policy.json");
  return existsSync(user) ? user : SYSTEM_POLICY_PATH;
}

/** Reads and validates a policy file; relative key paths are relative to the file's directory. */
export async function loadPolicy(path: string = defaultPolicyPath()): Promise<TrustPolicy> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new TrustError("INVALID_POLICY", `${path}: cannot read the policy: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new TrustError("INVALID_POLICY", `${path}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  return parsePolicy(doc, path, dirname(resolve(path)));
}

/** Validates a parsed policy document (`source` names it in messages). */
export async function parsePolicy(doc: unknown, source: string, baseDir: string): Promise<TrustPolicy> {
  const bad = (where: string, why: string): never => {
    throw new TrustError("INVALID_POLICY", `${source}: ${where}: ${why}`);
  };
  const o = asObject(doc, "policy", bad);
  for (const k of Object.keys(o))
    if (k !== "default" && k !== "transports") bad("policy", `unknown field ${JSON.stringify(k)}`);
  if (o["default"] === undefined) bad("policy", `"default" is required`);
  const policy: TrustPolicy = {
    source,
    default: await parseRequirements(o["default"], "default", source, baseDir, bad),
    transports: new Map(),
  };
  if (o["transports"] !== undefined) {
    for (const [transport, scopes] of Object.entries(asObject(o["transports"], "transports", bad))) {
      const m = new Map<string, PolicyRequirement[]>();
      for (const [scope, reqs] of Object.entries(asObject(scopes, `transports.${transport}`, bad))) {
        const where = `transports.${transport}[${JSON.stringify(scope)}]`;
        m.set(scope, await parseRequirements(reqs, where, source, baseDir, bad));
      }
      policy.transports.set(transport, m);
    }
  }
  return policy;
}

type Bad = (where: string, why: string) => never;

function asObject(v: unknown, where: string, bad: Bad): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return bad(where, "must be an object");
  return v as Record<string, unknown>;
}

async function parseRequirements(
  v: unknown,
  where: string,
  source: string,
  baseDir: string,
  bad: Bad,
): Promise<PolicyRequirement[]> {
  if (!Array.isArray(v) || v.length === 0) return bad(where, "must be a non-empty list of requirements");
  const out: PolicyRequirement[] = [];
  for (const [i, r] of v.entries())
    out.push(await parseRequirement(r, `${where}[${i}]`, source, baseDir, bad));
  return out;
}

async function parseRequirement(
  v: unknown,
  where: string,
  source: string,
  baseDir: string,
  bad: Bad,
): Promise<PolicyRequirement> {
  const o = asObject(v, where, bad);
  const only = (fields: string[]) => {
    for (const k of Object.keys(o)) {
      if (!fields.includes(k))
        bad(where, `field ${JSON.stringify(k)} is not supported by pier for ${String(o["type"])}`);
    }
  };
  const identity = (): SignedIdentity =>
    o["signedIdentity"] === undefined
      ? { type: "matchRepoDigestOrExact" }
      : parseSignedIdentity(o["signedIdentity"], `${source}: ${where}`);
  const at = `${source}: ${where}`;
  switch (o["type"]) {
    case "insecureAcceptAnything":
    case "reject":
      only(["type"]);
      return { type: o["type"], where };
    case "sigstoreSigned": {
      only(["type", "keyPath", "keyPaths", "keyData", "signedIdentity"]);
      const sources = keySources(o, where, baseDir, bad);
      const keys: KeyObject[] = [];
      const keyNames: string[] = [];
      for (const s of sources) {
        for (const k of readPublicKeys(s.bytes, `${at}: ${s.name}`)) {
          keys.push(k);
          keyNames.push(s.name);
        }
      }
      return { type: "sigstoreSigned", where, keys, keyNames, signedIdentity: identity() };
    }
    case "signedBy": {
      only(["type", "keyType", "keyPath", "keyPaths", "keyData", "signedIdentity"]);
      if (o["keyType"] !== "GPGKeys") {
        bad(where, `keyType ${JSON.stringify(o["keyType"])} is not supported (pier verifies "GPGKeys")`);
      }
      const keyring: Key[] = [];
      for (const s of keySources(o, where, baseDir, bad))
        keyring.push(...(await readGpgKeyring(s.bytes, `${at}: ${s.name}`)));
      return { type: "signedBy", where, keyring, signedIdentity: identity() };
    }
    default:
      return bad(where, `requirement type ${JSON.stringify(o["type"])} is not supported`);
  }
}

/** Exactly one of keyPath, keyPaths, keyData; the bytes of each key file. */
function keySources(
  o: Record<string, unknown>,
  where: string,
  baseDir: string,
  bad: Bad,
): Array<{ name: string; bytes: Buffer }> {
  const set = ["keyPath", "keyPaths", "keyData"].filter((k) => o[k] !== undefined);
  if (set.length !== 1)
    bad(where, `exactly one of keyPath, keyPaths, keyData is required (got ${set.join(", ") || "none"})`);
  const read = (p: unknown): { name: string; bytes: Buffer } => {
    if (typeof p !== "string" || p === "") return bad(where, "key paths must be non-empty strings");
    const path = isAbsolute(p) ? p : join(baseDir, p);
    try {
      return { name: path, bytes: readFileSync(path) };
    } catch (err) {
      return bad(where, `cannot read key ${path}: ${(err as Error).message}`);
    }
  };
  if (o["keyPath"] !== undefined) return [read(o["keyPath"])];
  if (o["keyPaths"] !== undefined) {
    const ps = o["keyPaths"];
    if (!Array.isArray(ps) || ps.length === 0) bad(where, "keyPaths must be a non-empty list");
    return (ps as unknown[]).map(read);
  }
  if (typeof o["keyData"] !== "string") bad(where, "keyData must be base64 text");
  return [{ name: "keyData", bytes: Buffer.from(o["keyData"] as string, "base64") }];
}

/** What the evaluation needs to know of an image, with its signatures fetched on demand. */
export interface ImageUnderPolicy {
  /** c/image transport name: `docker`, `oci`, `oci-archive`, `docker-archive`. */
  transport: string;
  /** Policy scopes of the image, most specific first. */
  scopes: string[];
  /** The docker reference the image is used by (identity checks); none for non-registry sources. */
  reference?: Reference;
  /** Digest of the manifest the reference names (what signatures sign). */
  manifestDigest: Digest;
  sigstoreSignatures(): Promise<SigstoreSignature[]>;
  gpgSignatures(): Promise<Buffer[]>;
}

/** One signature that satisfied a requirement. */
export interface AcceptedSignature {
  kind: "sigstore" | "gpg";
  /** Key file (sigstore) or key fingerprint (GPG). */
  signer: string;
  payload: SignaturePayload;
}

/** What admitted an image: the requirement list used and the signatures that satisfied it. */
export interface PolicyDecision {
  /** `default` or `transports.docker["scope"]`. */
  rules: string;
  signatures: AcceptedSignature[];
}

/** The requirement list for an image: the most specific scope of its transport, else the defaults. */
export function requirementsFor(
  policy: TrustPolicy,
  transport: string,
  scopes: string[],
): PolicyRequirement[] {
  const t = policy.transports.get(transport);
  if (t) {
    for (const s of scopes) {
      const r = t.get(s);
      if (r) return r;
    }
    const d = t.get("");
    if (d) return d;
  }
  return policy.default;
}

/**
 * Evaluates the policy for `image`. Resolves with what admitted it; rejects with
 * `POLICY_DENIED` naming the policy file, the requirement and why each signature failed.
 */
export async function evaluatePolicy(policy: TrustPolicy, image: ImageUnderPolicy): Promise<PolicyDecision> {
  const reqs = requirementsFor(policy, image.transport, image.scopes);
  const decision: PolicyDecision = {
    rules: reqs[0]?.where.replace(/\[\d+\]$/, "") ?? "default",
    signatures: [],
  };
  let sigstore: Promise<SigstoreSignature[]> | undefined;
  let gpg: Promise<Buffer[]> | undefined;
  const name = image.reference?.toString() ?? image.scopes[0] ?? "image";
  const deny = (req: PolicyRequirement, why: string): never => {
    throw new TrustError(
      "POLICY_DENIED",
      `${name} is refused by ${policy.source} ${req.where} (${req.type}): ${why}`,
      {
        detail: { policy: policy.source, rule: req.where, type: req.type },
      },
    );
  };
  for (const req of reqs) {
    switch (req.type) {
      case "insecureAcceptAnything":
        break;
      case "reject":
        deny(req, "the policy rejects every image here");
        break;
      case "sigstoreSigned": {
        sigstore ??= image.sigstoreSignatures();
        const sigs = await sigstore;
        if (sigs.length === 0) deny(req, "no sigstore signature found");
        decision.signatures.push(
          await firstAccepted(
            sigs,
            (why) => deny(req, why),
            async (s) => {
              const v = verifySigstoreSignature(s, req.keys, image.manifestDigest);
              checkIdentity(req.signedIdentity, image.reference, v.payload);
              return { kind: "sigstore", signer: req.keyNames[v.keyIndex]!, payload: v.payload };
            },
          ),
        );
        break;
      }
      case "signedBy": {
        gpg ??= image.gpgSignatures();
        const sigs = await gpg;
        if (sigs.length === 0) deny(req, "no GPG signature found");
        decision.signatures.push(
          await firstAccepted(
            sigs,
            (why) => deny(req, why),
            async (s) => {
              const { payload: bytes, fingerprint } = await verifyGpgSignature(s, req.keyring);
              const payload = parsePayload(bytes, GPG_PAYLOAD_TYPE);
              if (payload.manifestDigest !== image.manifestDigest) {
                throw new TrustError(
                  "INVALID_SIGNATURE",
                  `signed manifest ${payload.manifestDigest} is not this image's ${image.manifestDigest}`,
                );
              }
              checkIdentity(req.signedIdentity, image.reference, payload);
              return { kind: "gpg", signer: fingerprint, payload };
            },
          ),
        );
        break;
      }
    }
  }
  return decision;
}

/**
 * The first signature `accept` admits; when none does, `refuse` is called with every signature's
 * reason (a signature that fails for a reason other than a {@link TrustError} is a bug, rethrown).
 */
async function firstAccepted<S>(
  sigs: readonly S[],
  refuse: (why: string) => never,
  accept: (sig: S) => Promise<AcceptedSignature>,
): Promise<AcceptedSignature> {
  const reasons: string[] = [];
  for (const [i, s] of sigs.entries()) {
    try {
      return await accept(s);
    } catch (err) {
      if (!(err instanceof TrustError)) throw err;
      reasons.push(`signature ${i + 1}: ${err.message}`);
    }
  }
  return refuse(reasons.join("; "));
}

function checkIdentity(rule: SignedIdentity, image: Reference | undefined, payload: SignaturePayload): void {
  if (!image)
    throw new TrustError(
      "INVALID_SIGNATURE",
      "the image has no docker reference to match the signature's identity",
    );
  if (!identityMatches(rule, image, payload.dockerReference)) {
    throw new TrustError(
      "INVALID_SIGNATURE",
      `signed identity ${payload.dockerReference} does not match ${image.toString()} under ${rule.type}`,
    );
  }
}
