import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { writeSelfSignedKeyPair } from "../../testing/tls-cert.js";
import { libtrustKeyId } from "./libtrust.js";

let dir: string;
before(async () => {
  dir = await makeTempDir("pier-libtrust-");
});
after(() => removeTempDir(dir));

// Independent computation with openssl and coreutils: DER SPKI -> sha256 -> 30 bytes -> base32.
function keyIdByTools(keyFile: string): string {
  const der = execFileSync("openssl", ["pkey", "-in", keyFile, "-pubout", "-outform", "DER"]);
  const digest = execFileSync("openssl", ["dgst", "-sha256", "-binary"], { input: der });
  const b32 = execFileSync("base32", ["-w", "0"], { input: digest.subarray(0, 30) }).toString();
  return b32.match(/.{4}/g)!.join(":");
}

test("libtrustKeyId matches openssl + base32 for an EC key, from private or public half", async () => {
  const { keyFile } = await writeSelfSignedKeyPair(dir, "libtrust-test");
  const priv = createPrivateKey(readFileSync(keyFile));
  const id = libtrustKeyId(priv);
  assert.match(id, /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
  assert.equal(id, keyIdByTools(keyFile));
  assert.equal(libtrustKeyId(createPublicKey(priv)), id);
});

test("libtrustKeyId of an RSA key matches the tools, and differs between keys", async () => {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyFile = join(dir, "rsa.pem");
  writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  assert.equal(libtrustKeyId(privateKey), keyIdByTools(keyFile));
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  assert.notEqual(libtrustKeyId(other), libtrustKeyId(privateKey));
});
