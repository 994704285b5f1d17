/**
 * One call for the layers above (CLI, engine): the `admit` hook enforcing a policy file, or none
 * when no policy path is given and skopeo's default file does not exist.
 */
import { existsSync } from "node:fs";
import type { FetchedManifest, ImageSource } from "../remote/index.js";
import { policyGate, trustConfig } from "./admission.js";
import { defaultPolicyPath, loadPolicy, type PolicyDecision } from "./policy.js";

/**
 * Loads `policyPath` (or skopeo's default, if present) and `registriesDir`, and returns the gate.
 * An explicit path that cannot be read or parsed is an error (`INVALID_POLICY`).
 */
export async function trustGate(
  policyPath?: string,
  registriesDir?: string,
  onDecision?: (decision: PolicyDecision) => void,
): Promise<((root: FetchedManifest, src: ImageSource) => Promise<void>) | undefined> {
  const path = policyPath ?? defaultPolicyPath();
  if (policyPath === undefined && !existsSync(path)) return undefined;
  return policyGate(trustConfig(await loadPolicy(path), registriesDir), onDecision);
}
