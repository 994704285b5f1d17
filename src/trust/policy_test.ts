import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { digestOf } from "../oci/digest.js";
import { parseReference } from "../oci/reference.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { identityMatches } from "./identity.js";
import { generateSigstoreKeyPair, readSigstorePrivateKey } from "./keys.js";
import { readLookasideSignatures } from "./lookaside.js";
import { evaluatePolicy, type ImageUnderPolicy, parsePolicy, requirementsFor } from "./policy.js";
import { dockerScopes } from "./scopes.js";
import { makeSigstoreSignature } from "./sign.js";

describe("containers-policy.json: parsing, scopes, identity", () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir("pier-policy-test-");
    const pair = generateSigstoreKeyPair(Buffer.from("pw"));
    await writeFile(join(tmp, "k.pub"), pair.publicKeyPem);
    await writeFile(join(tmp, "k.private"), pair.privateKeyPem);
  });
  after(() => removeTempDir(tmp));

  it("refuses what pier does not apply, naming the field", async () => {
    const cases: [unknown, RegExp][] = [
      [
        { default: [{ type: "sigstoreSigned", fulcio: {} }] },
        /default\[0\]: field "fulcio" is not supported/,
      ],
      [
        { default: [{ type: "sigstoreSigned", keyPath: "k.pub", rekorPublicKeyPath: "r.pub" }] },
        /"rekorPublicKeyPath" is not supported/,
      ],
      [
        { default: [{ type: "signedBy", keyType: "X509Certificates", keyPath: "k.pub" }] },
        /keyType "X509Certificates" is not supported/,
      ],
      [
        { default: [{ type: "sigstoreSigned", keyPath: "k.pub", keyData: "eA==" }] },
        /exactly one of keyPath, keyPaths, keyData is required \(got keyPath, keyData\)/,
      ],
      [{ default: [{ type: "somethingNew" }] }, /requirement type "somethingNew" is not supported/],
      [{ default: [] }, /default: must be a non-empty list/],
      [{ transports: {} }, /"default" is required/],
      [{ default: [{ type: "reject" }], extra: 1 }, /unknown field "extra"/],
      [
        {
          default: [
            { type: "sigstoreSigned", keyPath: "k.pub", signedIdentity: { type: "matchExact", x: 1 } },
          ],
        },
        /signedIdentity: unknown field "x"/,
      ],
    ];
    for (const [doc, re] of cases) {
      await assert.rejects(parsePolicy(doc, "p.json", tmp), (err: Error) => {
        assert.match(err.message, re);
        assert.equal((err as { code?: string }).code, "INVALID_POLICY");
        return true;
      });
    }
  });

  it("picks the most specific scope, then the transport's default, then the default", async () => {
    const p = await parsePolicy(
      {
        default: [{ type: "reject" }],
        transports: {
          docker: {
            "": [{ type: "insecureAcceptAnything" }],
            "reg.example.com/team": [{ type: "reject" }],
            "reg.example.com/team/app:1": [{ type: "insecureAcceptAnything" }],
            "*.example.com": [{ type: "sigstoreSigned", keyPath: "k.pub" }],
          },
        },
      },
      "p.json",
      tmp,
    );
    const where = (ref: string) => requirementsFor(p, "docker", dockerScopes(parseReference(ref)))[0]!.where;
    assert.equal(where("reg.example.com/team/app:1"), 'transports.docker["reg.example.com/team/app:1"][0]');
    assert.equal(where("reg.example.com/team/app:2"), 'transports.docker["reg.example.com/team"][0]');
    assert.equal(where("reg.example.com/other:1"), 'transports.docker["*.example.com"][0]');
    assert.equal(where("quay.io/x:1"), 'transports.docker[""][0]');
    assert.equal(requirementsFor(p, "oci", ["/tmp/x"])[0]!.where, "default[0]");
  });

  it("signedIdentity rules as c/image applies them", () => {
    const img = parseReference("reg.example.com/team/app:1");
    const byDigest = parseReference(`reg.example.com/team/app@${digestOf("x")}`);
    assert.ok(identityMatches({ type: "matchRepoDigestOrExact" }, img, "reg.example.com/team/app:1"));
    assert.ok(!identityMatches({ type: "matchRepoDigestOrExact" }, img, "reg.example.com/team/app:2"));
    assert.ok(identityMatches({ type: "matchRepoDigestOrExact" }, byDigest, "reg.example.com/team/app:2"));
    assert.ok(identityMatches({ type: "matchRepository" }, img, "reg.example.com/team/app:9"));
    assert.ok(!identityMatches({ type: "matchRepository" }, img, "reg.example.com/team/other:1"));
    assert.ok(identityMatches({ type: "matchExact" }, byDigest, `reg.example.com/team/app@${digestOf("x")}`));
    const remap = {
      type: "remapIdentity",
      prefix: "mirror.local/team",
      signedPrefix: "reg.example.com/team",
    } as const;
    assert.ok(
      identityMatches(remap, parseReference("mirror.local/team/app:1"), "reg.example.com/team/app:1"),
    );
    assert.ok(
      !identityMatches(remap, parseReference("mirror.local/teamx/app:1"), "reg.example.com/team/app:1"),
    );
    assert.ok(!identityMatches({ type: "matchRepository" }, img, "NOT A REFERENCE"));
  });

  it("evaluates every requirement, and names each signature's failure", async () => {
    const p = await parsePolicy({ default: [{ type: "sigstoreSigned", keyPath: "k.pub" }] }, "p.json", tmp);
    const { readFile } = await import("node:fs/promises");
    const key = readSigstorePrivateKey(await readFile(join(tmp, "k.private"), "utf8"), Buffer.from("pw"));
    const digest = digestOf("manifest");
    const ref = parseReference("reg.example.com/team/app:1");
    const image = (sigs: ReturnType<typeof makeSigstoreSignature>[]): ImageUnderPolicy => ({
      transport: "docker",
      scopes: dockerScopes(ref),
      reference: ref,
      manifestDigest: digest,
      sigstoreSignatures: async () => sigs,
      gpgSignatures: async () => [],
    });
    const good = makeSigstoreSignature(digest, ref.toString(), key);
    const otherDigest = makeSigstoreSignature(digestOf("other"), ref.toString(), key);
    const tampered = { ...good, payload: Buffer.from(good.payload.toString().replace("app:1", "app:2")) };
    const d = await evaluatePolicy(p, image([otherDigest, good]));
    assert.equal(d.signatures[0]!.payload.manifestDigest, digest);
    await assert.rejects(
      evaluatePolicy(p, image([otherDigest, tampered])),
      /signature 1: signed manifest sha256:[0-9a-f]+ is not this image's sha256:[0-9a-f]+; signature 2: not signed by any of the trusted keys/,
    );
  });

  it("reads only file:// lookasides, refusing others by name", async () => {
    const ref = parseReference("reg.example.com/team/app:1");
    await assert.rejects(
      readLookasideSignatures("https://sigs.example.com/", ref, digestOf("x")),
      /only file:\/\/ lookasides are supported/,
    );
    assert.deepEqual(await readLookasideSignatures(`file://${tmp}/none`, ref, digestOf("x")), []);
  });
});
