/**
 * `pier key generate`, `pier sign`, `pier verify`, `pier attest`, `pier verify-attestation`: thin
 * shells over `src/trust`.
 */

import type { KeyObject } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { parseFormat, printJson } from "../output.js";
import { readPassword } from "./registry.js";
import { addRemoteFlags, type RemoteFlags, registryOf, remoteOptions } from "./remote.js";

/** A passphrase: the first line of `file` (as skopeo's `--sign-passphrase-file`), else stdin or asked for. */
async function readPassphrase(file: string | undefined, prompt = "Passphrase: "): Promise<Buffer> {
  if (file !== undefined) {
    const text = await readFile(file, "utf8");
    return Buffer.from(text.split("\n")[0]!.replace(/\r$/, ""), "utf8");
  }
  return Buffer.from(await readPassword(prompt), "utf8");
}

/** Opens an encrypted sigstore private key file with the passphrase from `passphraseFile` (or asked for). */
export async function openPrivateKey(path: string, passphraseFile: string | undefined): Promise<KeyObject> {
  const { readSigstorePrivateKey } = await import("../../trust/index.js");
  const pem = await readFile(path, "utf8");
  return readSigstorePrivateKey(pem, await readPassphrase(passphraseFile), path);
}

interface TrustFlags extends RemoteFlags {
  key?: string;
  passphraseFile?: string;
  referrers?: boolean;
  recursive?: boolean;
  signIdentity?: string;
  format?: string;
}

/** Registers the signing and verification commands on `program`. */
export function registerTrustCommands(program: Command): void {
  const key = program.command("key").description("sigstore signing keys");
  key
    .command("generate")
    .description(
      "generate an ECDSA P-256 key pair: PREFIX.private (encrypted, as skopeo --sign-by-sigstore-private-key reads it) and PREFIX.pub",
    )
    .option("--output-key-prefix <prefix>", "path prefix of the two files", "sigstore")
    .option("--passphrase-file <file>", "passphrase (first line); else stdin or asked for")
    .action(async (f: { outputKeyPrefix: string; passphraseFile?: string }) => {
      const { generateSigstoreKeyPair } = await import("../../trust/index.js");
      const passphrase = await readPassphrase(f.passphraseFile, "Passphrase for the new key: ");
      const pair = generateSigstoreKeyPair(passphrase);
      // `wx`: an existing key is never overwritten.
      await writeFile(`${f.outputKeyPrefix}.private`, pair.privateKeyPem, { flag: "wx", mode: 0o600 });
      await writeFile(`${f.outputKeyPrefix}.pub`, pair.publicKeyPem, { flag: "wx", mode: 0o644 });
      process.stdout.write(
        `Private key: ${f.outputKeyPrefix}.private\nPublic key: ${f.outputKeyPrefix}.pub\n`,
      );
    });

  addRemoteFlags(
    program
      .command("sign")
      .description("sign an image in a registry (sigstore attachment, as skopeo and cosign store it)")
      .argument("<ref>", "image reference")
      .requiredOption("--key <file>", "sigstore private key (pier key generate, cosign)")
      .option("--passphrase-file <file>", "the key's passphrase (first line); else stdin or asked for")
      .option("--referrers", "also store the signature as an OCI 1.1 referrer of the image")
      .option("--recursive", "for an index, also sign every manifest it lists")
      .option("--sign-identity <ref>", "identity to sign (default: the reference)"),
  ).action(async (ref: string, f: TrustFlags) => {
    const { signImage } = await import("../../trust/index.js");
    const key = await openPrivateKey(f.key!, f.passphraseFile);
    const signed = await signImage(ref, {
      ...(await remoteOptions(f, [await registryOf(ref)])),
      key,
      ...(f.referrers ? { referrers: true } : {}),
      ...(f.recursive ? { recursive: true } : {}),
      ...(f.signIdentity ? { identity: f.signIdentity } : {}),
    });
    for (const s of signed) {
      process.stdout.write(
        `Signed ${s.digest} as ${s.identity}${s.referrer ? ` (referrer ${s.referrer})` : ""}\n`,
      );
    }
  });

  addRemoteFlags(
    program
      .command("verify")
      .description("verify an image's signatures: against a public key, or a containers-policy.json")
      .argument("<ref>", "image reference")
      .option("--key <file>", "sigstore public key (the signature must also name this reference)")
      .option("--policy <file>", "containers-policy.json to evaluate (default: skopeo's)")
      .option("--registries.d <dir>", "registries.d directory: where signatures live (default: skopeo's)")
      .option("--format <format>", "table or json", "table"),
  ).action(async (ref: string, f: TrustFlags, cmd: Command) => {
    const format = parseFormat(f.format ?? "table");
    if (f.key && f.policy) cmd.error("error: --key and --policy exclude each other");
    const trust = await import("../../trust/index.js");
    const { parseReference } = await import("../../oci/reference.js");
    const { clientFor } = await import("../../remote/index.js");
    const r = parseReference(ref);
    const policy = f.key
      ? await trust.parsePolicy(
          { default: [{ type: "sigstoreSigned", keyPath: f.key }] },
          `--key ${f.key}`,
          process.cwd(),
        )
      : await trust.loadPolicy(f.policy ?? trust.defaultPolicyPath());
    const client = clientFor(r.registry, await remoteOptions(f, [r.registry]));
    try {
      const root = await client.getManifest(r.repository, r.identifier);
      const image = trust.registryImageUnderPolicy(
        client,
        r,
        root.digest,
        trust.loadRegistriesD(f["registries.d"]),
      );
      const decision = await trust.evaluatePolicy(policy, image);
      if (format === "json") return printJson({ reference: r.toString(), digest: root.digest, ...decision });
      process.stdout.write(
        `Verified ${r.toString()} (${root.digest}) under ${policy.source} ${decision.rules}\n`,
      );
      for (const s of decision.signatures) {
        process.stdout.write(
          `  ${s.kind} signature by ${s.signer}: ${s.payload.dockerReference}${s.payload.timestamp ? ` at ${new Date(s.payload.timestamp * 1000).toISOString()}` : ""}\n`,
        );
      }
      if (decision.signatures.length === 0)
        process.stdout.write("  (the policy requires no signature here)\n");
    } finally {
      await client.close();
    }
  });

  addRemoteFlags(
    program
      .command("attest")
      .description(
        "sign an in-toto statement about an image (DSSE envelope) and store it as an OCI 1.1 referrer",
      )
      .argument("<ref>", "image reference")
      .requiredOption("--predicate <file>", "the predicate (JSON), e.g. an SBOM or provenance")
      .option(
        "--type <type>",
        "predicate type: slsaprovenance, spdxjson, cyclonedx, custom, … or a URI",
        "custom",
      )
      .requiredOption("--key <file>", "sigstore private key")
      .option("--passphrase-file <file>", "the key's passphrase (first line); else stdin or asked for"),
  ).action(async (ref: string, f: TrustFlags & { predicate: string; type: string }, cmd: Command) => {
    const { attestImage } = await import("../../trust/attestation.js");
    let predicate: unknown;
    try {
      predicate = JSON.parse(await readFile(f.predicate, "utf8"));
    } catch (err) {
      cmd.error(`error: --predicate ${f.predicate}: ${(err as Error).message}`);
    }
    const key = await openPrivateKey(f.key!, f.passphraseFile);
    const r = await attestImage(ref, {
      ...(await remoteOptions(f, [await registryOf(ref)])),
      key,
      predicate,
      type: f.type,
    });
    process.stdout.write(`Attested ${r.subject}: ${r.attestation}\n`);
  });

  addRemoteFlags(
    program
      .command("verify-attestation")
      .description("verify an image's in-toto attestations against a public key; prints their statements")
      .argument("<ref>", "image reference")
      .requiredOption("--key <file>", "sigstore public key")
      .option("--type <type>", "only attestations of this predicate type")
      .option("--format <format>", "table or json", "table"),
  ).action(async (ref: string, f: TrustFlags & { type?: string }) => {
    const format = parseFormat(f.format ?? "table");
    const { verifyAttestations } = await import("../../trust/attestation.js");
    const { readPublicKeys } = await import("../../trust/index.js");
    const keys = readPublicKeys(await readFile(f.key!), f.key);
    const found = await verifyAttestations(ref, keys, {
      ...(await remoteOptions(f, [await registryOf(ref)])),
      ...(f.type ? { type: f.type } : {}),
    });
    if (format === "json") return printJson(found);
    for (const a of found)
      process.stdout.write(`Verified attestation ${a.digest}: ${a.statement.predicateType}\n`);
  });
}
