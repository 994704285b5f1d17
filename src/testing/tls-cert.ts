/**
 * Test fixture: a fresh EC P-256 key and a self-signed certificate for it, made by `openssl`
 * (not by pier), for TLS servers and token issuers in tests. Not part of the library API.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
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

/**
 * A CA and two certificates it signs, as docker's `--tlsverify` setups have them: `<dir>/ca.pem`,
 * `<dir>/server/{cert,key}.pem` for 127.0.0.1 (serverAuth) and `<dir>/client/{ca,cert,key}.pem`
 * (clientAuth; the directory a client's `DOCKER_CERT_PATH` names). Made by `openssl`.
 */
export async function writeDockerTlsCerts(dir: string): Promise<{ server: string; client: string }> {
  const server = join(dir, "server");
  const client = join(dir, "client");
  await mkdir(server, { recursive: true });
  await mkdir(client, { recursive: true });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await runTool("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    join(dir, "ca-key.pem"),
    "-out",
    join(dir, "ca.pem"),
    "-days",
    "1",
    "-subj",
    "/CN=pier-test-ca",
  ]);
  const sign = async (out: string, key: string, cn: string, ext: string) => {
    await writeFile(join(dir, "ext.cnf"), ext);
    await runTool("openssl", [
      "req",
      ...ec,
      "-keyout",
      key,
      "-out",
      join(dir, "req.csr"),
      "-subj",
      `/CN=${cn}`,
    ]);
    await runTool("openssl", [
      "x509",
      "-req",
      "-in",
      join(dir, "req.csr"),
      "-CA",
      join(dir, "ca.pem"),
      "-CAkey",
      join(dir, "ca-key.pem"),
      "-CAcreateserial",
      "-out",
      out,
      "-days",
      "1",
      "-extfile",
      join(dir, "ext.cnf"),
    ]);
  };
  await sign(
    join(server, "cert.pem"),
    join(server, "key.pem"),
    "127.0.0.1",
    "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  await sign(join(client, "cert.pem"), join(client, "key.pem"), "client", "extendedKeyUsage=clientAuth\n");
  await writeFile(join(client, "ca.pem"), await readFile(join(dir, "ca.pem")));
  return { server, client };
}
