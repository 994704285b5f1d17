/**
 * GPG simple signatures (`signedBy` with `keyType: GPGKeys`), as `skopeo copy --sign-by` writes
 * them: an OpenPGP signed message (binary, usually compressed) whose literal data is the
 * simple-signing payload. Verified with OpenPGP.js against the policy's keyring only.
 */
import type { Key } from "openpgp";
import { TrustError } from "./error.js";
import { MAX_PAYLOAD_BYTES } from "./payload.js";

/** Reads a keyring: binary (`gpg --export`) or ASCII-armoured (`gpg --export --armor`). */
export async function readGpgKeyring(bytes: Buffer, what: string): Promise<Key[]> {
  // OpenPGP.js is large: loaded only when a policy has a signedBy rule.
  const { readKeys } = await import("openpgp");
  try {
    const armoured = bytes.subarray(0, 64).toString("latin1").includes("-----BEGIN PGP");
    return armoured
      ? await readKeys({ armoredKeys: bytes.toString("utf8") })
      : await readKeys({ binaryKeys: bytes });
  } catch (err) {
    throw new TrustError("INVALID_KEY", `${what}: not an OpenPGP keyring: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Verifies a signed message against `keys` and returns its payload and the signer's fingerprint.
 * Throws `INVALID_SIGNATURE` when no key of the ring made a valid signature.
 */
export async function verifyGpgSignature(
  signature: Buffer,
  keys: Key[],
): Promise<{ payload: Buffer; fingerprint: string }> {
  if (signature.length > MAX_PAYLOAD_BYTES) {
    throw new TrustError("INVALID_SIGNATURE", `GPG signature larger than ${MAX_PAYLOAD_BYTES} bytes`);
  }
  const { readMessage, verify } = await import("openpgp");
  let result: Awaited<ReturnType<typeof verify<Uint8Array>>>;
  try {
    const message = await readMessage({ binaryMessage: signature });
    result = await verify({ message, verificationKeys: keys, format: "binary", expectSigned: true });
  } catch (err) {
    throw new TrustError("INVALID_SIGNATURE", `GPG signature: ${(err as Error).message}`, { cause: err });
  }
  const data = Buffer.from(result.data as Uint8Array);
  if (data.length > MAX_PAYLOAD_BYTES) {
    throw new TrustError(
      "INVALID_SIGNATURE",
      `GPG signature: payload larger than ${MAX_PAYLOAD_BYTES} bytes`,
    );
  }
  for (const s of result.signatures) {
    try {
      await s.verified;
    } catch {
      continue;
    }
    const id = s.keyID.toHex();
    const key = keys.find((k) => k.getKeys().some((sub) => sub.getKeyID().toHex() === id));
    return { payload: data, fingerprint: (key?.getFingerprint() ?? id).toUpperCase() };
  }
  throw new TrustError("INVALID_SIGNATURE", "GPG signature: not made by a key of the policy's keyring");
}
