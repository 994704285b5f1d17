import assert from "node:assert/strict";
import { sign, verify } from "node:crypto";
import { describe, it } from "node:test";
import { generateSigstoreKeyPair, readPublicKey, readSigstorePrivateKey } from "./keys.js";

/**
 * A key written by cosign itself (scrypt N=65536, empty passphrase), published as a test fixture
 * in conforma/cli (internal/validate/vsa, TestSignVSA, run with COSIGN_PASSWORD=""): the known
 * answer for the format, since this machine's skopeo and podman are built without sigstore.
 */
const COSIGN_WRITTEN_KEY = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjo2NTUzNiwiciI6
OCwicCI6MX0sInNhbHQiOiJLYU9OQzduQVJLOVgxM1FoaWFucjAwTTBGYys2Sitr
dnAxN1FuanpiVk9nPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJVOHZqWWtqMlZOUFZGdlZFZWZ3bXZ5VGloUERrelBoaCJ9LCJj
aXBoZXJ0ZXh0IjoidWNWMnQ4TTZVNFJvb29FOXc0d3dkc3E1RDYrS2RKY245dERT
KzFwRDRGN040SVJOWEgzSTBua3h1a3NackFOUHR1emIvTkVYQ201dUp3Zjh3Qzl1
VlprbXdwNU5jRUZ6b3ZNS3JCZmNvdXdjaEkrMzkrQ0NhbVZPbzBucmRnZjhvcmpK
dXdrWDBYL1phY0RUTERGaUxyc1laMWVMMmlqMGU1MVRpZmVQNTl4WXNPK1FnM1Jv
OURRVjNQMk9ndDFDaVFHeGg1VXhUZytGc3c9PSJ9
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----`;

describe("sigstore key files", () => {
  it("opens a private key cosign wrote", () => {
    const key = readSigstorePrivateKey(COSIGN_WRITTEN_KEY, Buffer.alloc(0));
    assert.equal(key.asymmetricKeyType, "ec");
    assert.deepEqual(key.asymmetricKeyDetails, { namedCurve: "prime256v1" });
    assert.throws(() => readSigstorePrivateKey(COSIGN_WRITTEN_KEY, Buffer.from("x")), /wrong passphrase/);
  });

  it("generates a pair whose halves match, and refuses wrong PEM types and costly scrypt parameters", () => {
    const pair = generateSigstoreKeyPair(Buffer.from("pw"));
    const priv = readSigstorePrivateKey(pair.privateKeyPem, Buffer.from("pw"));
    const sig = sign("sha256", Buffer.from("payload"), priv);
    assert.ok(verify("sha256", Buffer.from("payload"), readPublicKey(pair.publicKeyPem), sig));
    assert.throws(
      () => readSigstorePrivateKey(pair.publicKeyPem, Buffer.from("pw")),
      /PEM type "PUBLIC KEY" is not "ENCRYPTED SIGSTORE PRIVATE KEY"/,
    );
    const body = JSON.parse(
      Buffer.from(pair.privateKeyPem.split("\n").slice(1, -2).join(""), "base64").toString(),
    );
    body.kdf.params.N = 1 << 22;
    const costly = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${Buffer.from(JSON.stringify(body)).toString("base64")}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
    assert.throws(() => readSigstorePrivateKey(costly, Buffer.from("pw")), /too costly/);
  });
});
