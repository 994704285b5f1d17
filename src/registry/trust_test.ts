import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { pushImage, startTestRegistry, type TestRegistry } from "../testing/registry.js";
import { pier, printedDigest, run } from "../testing/trust.js";
import { generateSigstoreKeyPair } from "../trust/keys.js";

describe("registry trust: protected repositories serve only signed manifests", () => {
  let tmp: string;
  let reg: TestRegistry;
  let host: string;

  before(async () => {
    tmp = await makeTempDir("pier-registry-trust-");
    await writeBusyboxRootfs(join(tmp, "rootfs"));
    await writeFile(join(tmp, "pass"), "pw\n");
    for (const k of ["good", "bad"]) {
      const pair = generateSigstoreKeyPair(Buffer.from("pw"));
      await writeFile(join(tmp, `${k}.private`), pair.privateKeyPem);
      await writeFile(join(tmp, `${k}.pub`), pair.publicKeyPem);
    }
    const { readFileSync } = await import("node:fs");
    reg = await startTestRegistry((c) => {
      c.trust = [{ repositories: "prod/*", keys: [readFileSync(join(tmp, "good.pub"), "utf8")] }];
    });
    host = reg.reg.host;
    await writeFile(
      join(tmp, "open.json"),
      JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }),
    );
  });
  after(async () => {
    await reg.stop();
    await removeTempDir(tmp);
  });

  it("refuses an unsigned pull with DENIED naming the missing signature (pier and skopeo), serves it once signed, never blocks pushes", async () => {
    const store = join(tmp, "store");
    const ref = `${host}/prod/app:1`;
    let r = await pier(store, "image", "create", join(tmp, "rootfs"), "--tag", ref);
    assert.equal(r.status, 0, r.stderr);
    r = await pier(store, "push", "-q", ref);
    assert.equal(r.status, 0, r.stderr);
    const digest = printedDigest(r);
    const pullArgs = ["pull", "-q", ref, "--policy", join(tmp, "open.json")];

    r = await pier(join(tmp, "p1"), ...pullArgs);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      new RegExp(`prod/app@${digest} is not served: .*prod/app:sha256-${digest.slice(7)}\\.sig is missing`),
    );
    const sk = await run("skopeo", [
      "--policy",
      join(tmp, "open.json"),
      "inspect",
      "--tls-verify=false",
      `docker://${ref}`,
    ]);
    assert.notEqual(sk.status, 0);
    assert.match(sk.stderr, /denied/i);

    // Signed by a key the registry does not trust: still refused, saying why.
    r = await pier(
      store,
      "sign",
      ref,
      "--key",
      join(tmp, "bad.private"),
      "--passphrase-file",
      join(tmp, "pass"),
    );
    assert.equal(r.status, 0, r.stderr);
    r = await pier(join(tmp, "p2"), ...pullArgs);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not signed by any of the trusted keys/);

    r = await pier(
      store,
      "sign",
      ref,
      "--key",
      join(tmp, "good.private"),
      "--passphrase-file",
      join(tmp, "pass"),
    );
    assert.equal(r.status, 0, r.stderr);
    r = await pier(join(tmp, "p3"), ...pullArgs);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(printedDigest(r), digest);
    const ok = await run("skopeo", [
      "--policy",
      join(tmp, "open.json"),
      "inspect",
      "--tls-verify=false",
      "--raw",
      `docker://${ref}`,
    ]);
    assert.equal(ok.status, 0, ok.stderr);
  });

  it("accepts an OCI 1.1 signature referrer as well as the attachment", async () => {
    const store = join(tmp, "store");
    const ref = `${host}/prod/ref:1`;
    let r = await pier(store, "image", "create", join(tmp, "rootfs"), "--tag", ref, "--label", "ref=1");
    assert.equal(r.status, 0, r.stderr);
    r = await pier(store, "push", "-q", ref);
    const digest = printedDigest(r);
    r = await pier(
      store,
      "sign",
      ref,
      "--key",
      join(tmp, "good.private"),
      "--passphrase-file",
      join(tmp, "pass"),
      "--referrers",
    );
    assert.equal(r.status, 0, r.stderr);
    // Only the referrer is left.
    const del = await fetch(`${reg.url}/v2/prod/ref/manifests/sha256-${digest.slice(7)}.sig`, {
      method: "DELETE",
    });
    assert.equal(del.status, 202);
    r = await pier(join(tmp, "p5"), "pull", "-q", ref, "--policy", join(tmp, "open.json"));
    assert.equal(r.status, 0, r.stderr);
  });

  it("serves unprotected repositories unsigned, and signature artifacts always", async () => {
    const store = join(tmp, "store");
    const ref = `${host}/dev/app:1`;
    let r = await pier(store, "image", "create", join(tmp, "rootfs"), "--tag", ref);
    assert.equal(r.status, 0, r.stderr);
    r = await pier(store, "push", "-q", ref);
    assert.equal(r.status, 0, r.stderr);
    r = await pier(join(tmp, "p4"), "pull", "-q", ref, "--policy", join(tmp, "open.json"));
    assert.equal(r.status, 0, r.stderr);
    // A signature manifest of the protected repository is readable without being signed itself.
    const tags = (await (await fetch(`${reg.url}/v2/prod/app/tags/list`)).json()) as { tags: string[] };
    const sigTag = tags.tags.find((t) => t.endsWith(".sig"));
    assert.ok(sigTag, JSON.stringify(tags));
    const res = await fetch(`${reg.url}/v2/prod/app/manifests/${sigTag}`, {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    assert.equal(res.status, 200);
    // An image dressed up as a signature (cosign's artifactType, a `.sig`-like tag) is still refused.
    const disguised = await pushImage(reg.url, "prod/disguised", "sha256-0.sig", ["layer"], {
      artifactType: "application/vnd.dev.cosign.artifact.sig.v1+json",
    });
    const refused = await fetch(`${reg.url}/v2/prod/disguised/manifests/${disguised.digest}`, {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { errors: { code: string }[] }).errors[0]!.code, "DENIED");
  });
});
