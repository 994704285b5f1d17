/**
 * Test fixture: keys and self-signed certificates made by `openssl` (not by pier), e.g. a
 * certificate of pier's token-issuer key for Docker's registry to trust. Not part of the
 * library API.
 */
import { readFile } from "node:fs/promises";
import { runTool } from "./umoci.js";

/** Writes a fresh EC P-256 private key (PKCS#8 PEM) to `keyFile`, mode 0600 as openssl creates it. */
export async function writeEcKey(keyFile: string): Promise<void> {
  await runTool("openssl", [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    keyFile,
  ]);
}

/**
 * Makes a self-signed certificate of the key in `keyFile`, valid two days, writes it to
 * `certFile` and returns its PEM.
 */
export async function writeSelfSignedCert(
  keyFile: string,
  certFile: string,
  commonName: string,
): Promise<string> {
  await runTool("openssl", [
    "req",
    "-x509",
    "-new",
    "-key",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    `/CN=${commonName}`,
  ]);
  return readFile(certFile, "utf8");
}
