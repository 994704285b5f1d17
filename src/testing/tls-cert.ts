/**
 * Test fixture: a fresh EC P-256 key and a self-signed certificate for it, made by `openssl`
 * (not by pier), for TLS servers and token issuers in tests. Not part of the library API.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { runTool } from "./umoci.js";

/** Files and PEM texts of a key pair made by {@link writeSelfSignedKeyPair}. */
export interface SelfSignedKeyPair {
  /** Path of the certificate (`<dir>/cert.pem`). */
  certFile: string;
  /** Path of the unencrypted PKCS#8 private key (`<dir>/key.pem`). */
  keyFile: string;
  certPem: string;
  keyPem: string;
}

/**
 * Writes `cert.pem` and `key.pem` into `dir` (which must exist): a new EC P-256 key and a
 * certificate of it for `/CN=<commonName>`, valid two days. `ipAddress` adds it as an IP
 * subjectAltName, which TLS clients need to accept the certificate for a loopback URL.
 */
export async function writeSelfSignedKeyPair(
  dir: string,
  commonName: string,
  options: { ipAddress?: string } = {},
): Promise<SelfSignedKeyPair> {
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const san = options.ipAddress === undefined ? [] : ["-addext", `subjectAltName=IP:${options.ipAddress}`];
  await runTool("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    `/CN=${commonName}`,
    ...san,
  ]);
  return {
    certFile,
    keyFile,
    certPem: await readFile(certFile, "utf8"),
    keyPem: await readFile(keyFile, "utf8"),
  };
}
