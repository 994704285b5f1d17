/**
 * `login`/`logout`: check credentials against a registry, then keep them where docker, podman
 * and skopeo look (`config.json` or its credential helper).
 */
import {
  type CredentialOptions,
  type Credentials,
  eraseCredentials,
  storeCredentials,
} from "./auth/credentials.js";
import { RegistryClient } from "./client.js";
import { isInsecure, type RemoteOptions } from "./options.js";

/**
 * Verifies `creds` by authenticating to `registry` (`GET /v2/`, through a token service when the
 * registry uses one), and only then stores them. Throws `UNAUTHORIZED` and stores nothing when
 * the registry refuses.
 */
export async function login(registry: string, creds: Credentials, opts: RemoteOptions = {}): Promise<void> {
  const { insecure, credentials: _ignored, ...rest } = opts;
  const client = new RegistryClient(registry, {
    ...rest,
    insecure: isInsecure(registry, insecure),
    credentials: creds,
  });
  try {
    await client.ping();
  } finally {
    await client.close();
  }
  await storeCredentials(registry, creds, opts);
}

/** Forgets the stored credentials of `registry`; resolves `false` when there were none. */
export function logout(registry: string, opts: CredentialOptions = {}): Promise<boolean> {
  return eraseCredentials(registry, opts);
}
