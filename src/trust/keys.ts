/**
 * Sigstore (cosign) key files, as skopeo 1.9 and podman 4.3 read them for
 * `--sign-by-sigstore-private-key`: a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY` (or the older
 * `ENCRYPTED COSIGN PRIVATE KEY`) whose body is go-securesystemslib's `encrypted` JSON — scrypt
 * key derivation, NaCl secretbox (XSalsa20-Poly1305) over the PKCS#8 DER private key — and the
 * public key as a plain `PUBLIC KEY` (SPKI) PEM.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  scryptSync,
} from "node:crypto";
import { createRequire } from "node:module";
import type naclType from "tweetnacl";
import { TrustError } from "./error.js";

/** TweetNaCl, loaded on first use: only private keys need it (the registry reads public keys only). */
let naclModule: typeof naclType | undefined;
function nacl(): typeof naclType {
  naclModule ??= createRequire(import.meta.url)("tweetnacl") as typeof naclType;
  return naclModule;
}

/** PEM type pier writes (cosign ≥ 2 and c/image ≥ 5.23 read it). */
export const SIGSTORE_PRIVATE_KEY_PEM = "ENCRYPTED SIGSTORE PRIVATE KEY";
/** The older cosign PEM type, still accepted on read. */
export const COSIGN_PRIVATE_KEY_PEM = "ENCRYPTED COSIGN PRIVATE KEY";

/** scrypt parameters cosign writes (go-securesystemslib's "standard" set). */
const SCRYPT = { N: 32768, r: 8, p: 1 } as const;
/** Largest scrypt work accepted on read: a key file is input, its cost must stay bounded. */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;

/** A freshly generated key pair, both halves as PEM text. */
export interface GeneratedKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** Generates an ECDSA P-256 key pair; the private key encrypted under `passphrase`. */
export function generateSigstoreKeyPair(passphrase: Buffer): GeneratedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const der = privateKey.export({ format: "der", type: "pkcs8" });
  return {
    privateKeyPem: pem(SIGSTORE_PRIVATE_KEY_PEM, Buffer.from(encryptKeyMaterial(der, passphrase))),
    publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
  };
}

/** go-securesystemslib `encrypted.Encrypt`: the JSON document, as bytes. */
function encryptKeyMaterial(plaintext: Buffer, passphrase: Buffer): string {
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const key = scryptSync(passphrase, salt, 32, { ...SCRYPT, maxmem: MAX_SCRYPT_MEMORY });
  const box = nacl().secretbox(plaintext, nonce, key);
  return JSON.stringify({
    kdf: { name: "scrypt", params: SCRYPT, salt: salt.toString("base64") },
    cipher: { name: "nacl/secretbox", nonce: nonce.toString("base64") },
    ciphertext: Buffer.from(box).toString("base64"),
  });
}

/**
 * Opens an encrypted sigstore/cosign private key PEM with `passphrase`. Throws `INVALID_KEY`
 * naming the problem (PEM type, KDF, cipher, wrong passphrase, key type).
 */
export function readSigstorePrivateKey(pemText: string, passphrase: Buffer, what = "private key"): KeyObject {
  const block = decodePem(pemText, what);
  if (block.type !== SIGSTORE_PRIVATE_KEY_PEM && block.type !== COSIGN_PRIVATE_KEY_PEM) {
    throw new TrustError(
      "INVALID_KEY",
      `${what}: PEM type ${JSON.stringify(block.type)} is not ${JSON.stringify(SIGSTORE_PRIVATE_KEY_PEM)}`,
    );
  }
  const der = decryptKeyMaterial(block.body, passphrase, what);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } catch (err) {
    throw new TrustError("INVALID_KEY", `${what}: not a PKCS#8 private key`, { cause: err });
  }
  checkKeyType(key, what);
  return key;
}

function decryptKeyMaterial(body: Buffer, passphrase: Buffer, what: string): Buffer {
  let doc: {
    kdf?: { name?: unknown; params?: { N?: unknown; r?: unknown; p?: unknown }; salt?: unknown };
    cipher?: { name?: unknown; nonce?: unknown };
    ciphertext?: unknown;
  };
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new TrustError("INVALID_KEY", `${what}: encrypted body is not JSON`, { cause: err });
  }
  const { kdf, cipher } = doc;
  if (kdf?.name !== "scrypt") throw new TrustError("INVALID_KEY", `${what}: kdf.name must be "scrypt"`);
  if (cipher?.name !== "nacl/secretbox") {
    throw new TrustError("INVALID_KEY", `${what}: cipher.name must be "nacl/secretbox"`);
  }
  const { N, r, p } = kdf.params ?? {};
  if (!isPositiveInt(N) || !isPositiveInt(r) || !isPositiveInt(p) || (N & (N - 1)) !== 0) {
    throw new TrustError("INVALID_KEY", `${what}: kdf.params must hold N (a power of 2), r and p`);
  }
  if (128 * N * r * p > MAX_SCRYPT_MEMORY / 2 || p > 16) {
    throw new TrustError("INVALID_KEY", `${what}: scrypt parameters N=${N} r=${r} p=${p} are too costly`);
  }
  const salt = base64Field(kdf.salt, "kdf.salt", what);
  const nonce = base64Field(cipher.nonce, "cipher.nonce", what);
  const box = base64Field(doc.ciphertext, "ciphertext", what);
  if (nonce.length !== nacl().secretbox.nonceLength) {
    throw new TrustError(
      "INVALID_KEY",
      `${what}: cipher.nonce must be ${nacl().secretbox.nonceLength} bytes`,
    );
  }
  const key = scryptSync(passphrase, salt, 32, { N, r, p, maxmem: MAX_SCRYPT_MEMORY });
  const opened = nacl().secretbox.open(box, nonce, key);
  if (!opened) throw new TrustError("INVALID_KEY", `${what}: wrong passphrase (decryption failed)`);
  return Buffer.from(opened);
}

/** Reads a public key PEM (`PUBLIC KEY`, SPKI): ECDSA P-256/384/521, RSA or Ed25519, as c/image. */
export function readPublicKey(pemText: string | Buffer, what = "public key"): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pemText, format: "pem" });
  } catch (err) {
    throw new TrustError("INVALID_KEY", `${what}: not a public key PEM`, { cause: err });
  }
  checkKeyType(key, what);
  return key;
}

/** Reads every PEM public key block of a file (keyData/keyPath may hold several). */
export function readPublicKeys(pemText: string | Buffer, what = "public key"): KeyObject[] {
  const text = pemText.toString();
  const blocks = text.match(/-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g) ?? [];
  if (blocks.length === 0) throw new TrustError("INVALID_KEY", `${what}: no PEM block`);
  return blocks.map((b, i) => readPublicKey(b, blocks.length > 1 ? `${what} #${i + 1}` : what));
}

function checkKeyType(key: KeyObject, what: string): void {
  const t = key.asymmetricKeyType;
  if (t !== "ec" && t !== "rsa" && t !== "ed25519") {
    throw new TrustError("INVALID_KEY", `${what}: key type ${t} is not ECDSA, RSA or Ed25519`);
  }
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0;
}

function base64Field(v: unknown, field: string, what: string): Buffer {
  if (typeof v !== "string") throw new TrustError("INVALID_KEY", `${what}: ${field} must be a base64 string`);
  return Buffer.from(v, "base64");
}

/** Encodes `body` as a PEM block of `type`. Pure. */
export function pem(type: string, body: Buffer): string {
  const lines = body.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join("\n")}\n-----END ${type}-----\n`;
}

function decodePem(text: string, what: string): { type: string; body: Buffer } {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) throw new TrustError("INVALID_KEY", `${what}: no PEM block`);
  const headerless = m[2]!.split(/\r?\n/).filter((l) => l.length > 0 && !l.includes(":"));
  return { type: m[1]!, body: Buffer.from(headerless.join(""), "base64") };
}
