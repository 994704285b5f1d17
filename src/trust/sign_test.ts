import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { startTestRegistry, type TestRegistry } from "../testing/registry.js";
import { pier, printedDigest } from "../testing/trust.js";
import { readSigstorePrivateKey } from "./keys.js";

describe("pier key generate / sign / verify, and pull and copy under a sigstoreSigned policy", () => {
  let tmp: string;
  let reg: TestRegistry;
  let host: string;
  const policy = (keyPath: string, identity?: object) =>
    JSON.stringify({
      default: [{ type: "reject" }],
      transports: {
        docker: {
          [`${host}/prod`]: [
            { type: "sigstoreSigned", keyPath, ...(identity ? { signedIdentity: identity } : {}) },
          ],
          [`${host}/open`]: [{ type: "insecureAcceptAnything" }],
        },
      },
    });

  before(async () => {
    tmp = await makeTempDir("pier-sign-test-");
    reg = await startTestRegistry();
    host = reg.reg.host;
    await writeBusyboxRootfs(join(tmp, "rootfs"));
    await writeFile(join(tmp, "pass"), "correct horse\nsecond line is ignored\n");
    await writeFile(join(tmp, "rd.yaml"), "");
    for (const k of ["k1", "k2"]) {
      const r = await pier(
        tmp,
        "key",
        "generate",
        "--output-key-prefix",
        join(tmp, k),
        "--passphrase-file",
        join(tmp, "pass"),
      );
      assert.equal(r.status, 0, r.stderr);
    }
    await writeFile(join(tmp, "p1.json"), policy(join(tmp, "k1.pub")));
    await writeFile(join(tmp, "p2.json"), policy(join(tmp, "k2.pub")));
    await writeFile(
      join(tmp, "open.json"),
      JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }),
    );
  });
  after(async () => {
    await reg.stop();
    await removeTempDir(tmp);
  });

  it("writes an encrypted key only its passphrase opens, and never overwrites one", async () => {
    const pem = await readFile(join(tmp, "k1.private"), "utf8");
    assert.match(pem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    const body = JSON.parse(Buffer.from(pem.split("\n").slice(1, -2).join(""), "base64").toString());
    assert.deepEqual(body.kdf.params, { N: 32768, r: 8, p: 1 });
    assert.equal(body.cipher.name, "nacl/secretbox");
    assert.equal(readSigstorePrivateKey(pem, Buffer.from("correct horse")).asymmetricKeyType, "ec");
    assert.throws(() => readSigstorePrivateKey(pem, Buffer.from("wrong")), /wrong passphrase/);
    const r = await pier(
      tmp,
      "key",
      "generate",
      "--output-key-prefix",
      join(tmp, "k1"),
      "--passphrase-file",
      join(tmp, "pass"),
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /EEXIST/);
    assert.equal(await readFile(join(tmp, "k1.private"), "utf8"), pem);
  });

  it("push --sign-by-key signs; verify accepts the key, refuses another; pull admits only what the policy admits", async () => {
    const store = join(tmp, "store");
    const ref = `${host}/prod/bb:1`;
    let r = await pier(store, "image", "create", join(tmp, "rootfs"), "--tag", ref, "--cmd", '["sh"]');
    assert.equal(r.status, 0, r.stderr);
    r = await pier(
      store,
      "push",
      "-q",
      ref,
      "--sign-by-key",
      join(tmp, "k1.private"),
      "--sign-passphrase-file",
      join(tmp, "pass"),
    );
    assert.equal(r.status, 0, r.stderr);
    const digest = printedDigest(r);
    assert.match(r.stdout, new RegExp(`Signed ${digest} as ${ref}`));

    r = await pier(store, "verify", ref, "--key", join(tmp, "k1.pub"));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`sigstore signature by .*k1.pub: ${ref}`));
    r = await pier(store, "verify", ref, "--key", join(tmp, "k2.pub"));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not signed by any of the trusted keys \[POLICY_DENIED\]/);

    const rd = ["--registries.d", join(tmp, "no-registries.d")];
    const ok = join(tmp, "pulled-ok");
    r = await pier(ok, "pull", "-q", ref, "--policy", join(tmp, "p1.json"), ...rd);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(printedDigest(r), digest);
    const refused = join(tmp, "pulled-refused");
    r = await pier(refused, "pull", "-q", ref, "--policy", join(tmp, "p2.json"), ...rd);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /refused by .*p2\.json transports\.docker\[".*\/prod"\]\[0\] \(sigstoreSigned\)/);
    // Nothing of the refused image is stored.
    r = await pier(refused, "image", "ls", "-q");
    assert.equal(r.stdout.trim(), "");
    // The default rule of the policy rejects other repositories outright.
    r = await pier(
      store,
      "copy",
      "-q",
      `docker://${ref}`,
      `docker://${host}/elsewhere/bb:1`,
      "--policy",
      join(tmp, "open.json"),
    );
    assert.equal(r.status, 0, r.stderr);
    r = await pier(
      refused,
      "copy",
      "-q",
      `docker://${host}/elsewhere/bb:1`,
      "oci:" + join(tmp, "oci"),
      "--policy",
      join(tmp, "p1.json"),
      ...rd,
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /default\[0\] \(reject\)/);
  });

  it("refuses the tag once its manifest is re-pushed changed (the signature names the old digest)", async () => {
    const store = join(tmp, "store");
    const ref = `${host}/prod/bb:1`;
    let r = await pier(
      store,
      "image",
      "create",
      join(tmp, "rootfs"),
      "--tag",
      ref,
      "--cmd",
      '["sh"]',
      "--label",
      "changed=yes",
    );
    assert.equal(r.status, 0, r.stderr);
    r = await pier(store, "push", "-q", ref);
    assert.equal(r.status, 0, r.stderr);
    r = await pier(join(tmp, "pulled-changed"), "pull", "-q", ref, "--policy", join(tmp, "p1.json"));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no sigstore signature found|is not this image's/);
    r = await pier(store, "verify", ref, "--key", join(tmp, "k1.pub"));
    assert.equal(r.status, 1);
  });

  it("signedIdentity: a signature copied to another repository is refused under matchRepository, admitted by remapIdentity", async () => {
    const store = join(tmp, "store");
    const a = `${host}/prod/app:1`;
    const b = `${host}/prod/copy:1`;
    let r = await pier(store, "image", "create", join(tmp, "rootfs"), "--tag", a, "--label", "app=1");
    assert.equal(r.status, 0, r.stderr);
    r = await pier(
      store,
      "push",
      "-q",
      a,
      "--sign-by-key",
      join(tmp, "k1.private"),
      "--sign-passphrase-file",
      join(tmp, "pass"),
    );
    assert.equal(r.status, 0, r.stderr);
    const digest = printedDigest(r);
    // Copy the image and its `.sig` manifest, byte for byte, into another repository.
    r = await pier(store, "copy", "-q", `docker://${a}`, `docker://${b}`, "--policy", join(tmp, "open.json"));
    assert.equal(r.status, 0, r.stderr);
    const sigTag = `sha256-${digest.slice(7)}.sig`;
    r = await pier(
      store,
      "copy",
      "-q",
      `docker://${host}/prod/app:${sigTag}`,
      `docker://${host}/prod/copy:${sigTag}`,
    );
    assert.equal(r.status, 0, r.stderr);

    const check = async (identity: object) => {
      const file = join(tmp, `id-${JSON.stringify(identity).length}-${Math.random()}.json`);
      await writeFile(file, policy(join(tmp, "k1.pub"), identity));
      return pier(store, "verify", b, "--policy", file);
    };
    r = await check({ type: "matchRepository" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`signed identity ${a} does not match ${b} under matchRepository`));
    r = await check({ type: "matchRepoDigestOrExact" });
    assert.equal(r.status, 1);
    r = await check({ type: "exactReference", dockerReference: a });
    assert.equal(r.status, 0, r.stderr);
    r = await check({ type: "remapIdentity", prefix: `${host}/prod/copy`, signedPrefix: `${host}/prod/app` });
    assert.equal(r.status, 0, r.stderr);
    // The original is admitted by matchRepository.
    r = await pier(store, "verify", a, "--key", join(tmp, "k1.pub"));
    assert.equal(r.status, 0, r.stderr);
  });

  it("sign --recursive signs an index and each manifest; --referrers adds an OCI 1.1 referrer", async () => {
    const store = join(tmp, "store");
    const ref = `${host}/prod/multi:1`;
    let r = await pier(
      store,
      "image",
      "create",
      join(tmp, "rootfs"),
      "--tag",
      `${ref}-amd64`,
      "--platform",
      "linux/amd64",
    );
    assert.equal(r.status, 0, r.stderr);
    // An OCI index over the one manifest, pushed through the registry API.
    r = await pier(store, "push", "-q", `${ref}-amd64`);
    const child = printedDigest(r);
    const m = await fetch(`${reg.url}/v2/prod/multi/manifests/${child}`);
    const size = (await m.arrayBuffer()).byteLength;
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: child,
          size,
          platform: { os: "linux", architecture: "amd64" },
        },
      ],
    });
    const put = await fetch(`${reg.url}/v2/prod/multi/manifests/1`, {
      method: "PUT",
      headers: { "content-type": "application/vnd.oci.image.index.v1+json" },
      body: index,
    });
    assert.equal(put.status, 201);
    r = await pier(
      store,
      "sign",
      ref,
      "--key",
      join(tmp, "k2.private"),
      "--passphrase-file",
      join(tmp, "pass"),
      "--recursive",
      "--referrers",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.match(/^Signed /gm)?.length, 2, r.stdout);
    assert.match(r.stdout, new RegExp(`Signed ${child} as ${ref} \\(referrer sha256:`));
    r = await pier(
      store,
      "referrers",
      `${host}/prod/multi@${child}`,
      "--artifact-type",
      "application/vnd.dev.cosign.artifact.sig.v1+json",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split("\n").length, 1, r.stdout);
    r = await pier(store, "verify", ref, "--key", join(tmp, "k2.pub"));
    assert.equal(r.status, 0, r.stderr);
  });

  it("attest stores a DSSE-signed in-toto statement as a referrer; verify-attestation checks key, subject and type", async () => {
    const store = join(tmp, "store");
    const ref = `${host}/prod/att:1`;
    let r = await pier(store, "image", "create", join(tmp, "rootfs"), "--tag", ref, "--label", "att=1");
    assert.equal(r.status, 0, r.stderr);
    r = await pier(store, "push", "-q", ref);
    const digest = printedDigest(r);
    await writeFile(
      join(tmp, "sbom.json"),
      JSON.stringify({ bomFormat: "CycloneDX", components: [{ name: "busybox" }] }),
    );
    r = await pier(
      store,
      "attest",
      ref,
      "--predicate",
      join(tmp, "sbom.json"),
      "--type",
      "cyclonedx",
      "--key",
      join(tmp, "k1.private"),
      "--passphrase-file",
      join(tmp, "pass"),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Attested ${digest}: sha256:`));
    r = await pier(
      store,
      "verify-attestation",
      ref,
      "--key",
      join(tmp, "k1.pub"),
      "--type",
      "cyclonedx",
      "--format",
      "json",
    );
    assert.equal(r.status, 0, r.stderr);
    const [att] = JSON.parse(r.stdout);
    assert.equal(att.statement.predicateType, "https://cyclonedx.org/bom");
    assert.deepEqual(att.statement.subject, [
      { name: `${host}/prod/att`, digest: { sha256: digest.slice(7) } },
    ]);
    assert.equal(att.statement.predicate.components[0].name, "busybox");
    r = await pier(store, "verify-attestation", ref, "--key", join(tmp, "k2.pub"));
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /no attestation verifies \(sha256:[0-9a-f]+: not signed by any of the trusted keys\) \[NO_SIGNATURE\]/,
    );
    r = await pier(
      store,
      "verify-attestation",
      ref,
      "--key",
      join(tmp, "k1.pub"),
      "--type",
      "slsaprovenance",
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no attestation of type https:\/\/slsa.dev\/provenance\/v0.2 verifies/);
  });
});
