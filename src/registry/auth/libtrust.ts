import { createHash, createPublicKey, type KeyObject } from "node:crypto";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding (the input lengths used here are multiples of 5 bytes). */
function base32(data: Buffer): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * The libtrust key ID of a public (or private) key, as Docker's distribution matches a token's
 * `kid` header against the keys of its `rootcertbundle`: SHA-256 of the DER
 * SubjectPublicKeyInfo, first 240 bits, base32, 12 groups of 4 characters joined by `:`.
 * Deterministic for a key; distribution only knows EC and RSA keys.
 */
export function libtrustKeyId(key: KeyObject): string {
  const pub = key.type === "public" ? key : createPublicKey(key);
  const der = pub.export({ type: "spki", format: "der" });
  const id = base32(createHash("sha256").update(der).digest().subarray(0, 30));
  return id.match(/.{4}/g)!.join(":");
}
