import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import {
  type BusyboxRegistry,
  busyboxRegistry,
  docker,
  pier as pierEngine,
  requireDocker,
  startTestDaemon,
  type TestDaemon,
} from "../testing/engine.js";
import { pier as pierCli } from "../testing/trust.js";

describe("pierd enforces containers-policy.json on every pull (--signature-policy)", () => {
  let tmp: string;
  let reg: BusyboxRegistry;
  let d: TestDaemon;
  let policyFile: string;
  const writePolicy = (pub: string) =>
    writeFile(
      policyFile,
      JSON.stringify({
        default: [{ type: "insecureAcceptAnything" }],
        transports: {
          docker: { [reg.image.replace(/:latest$/, "")]: [{ type: "sigstoreSigned", keyPath: pub }] },
        },
      }),
    );

  before(async () => {
    requireDocker();
    tmp = await makeTempDir("pier-engine-trust-");
    reg = await busyboxRegistry();
    policyFile = join(tmp, "policy.json");
    await writeFile(join(tmp, "pass"), "pw\n");
    for (const k of ["k1", "k2"]) {
      const r = await pierCli(
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
    const r = await pierCli(
      tmp,
      "sign",
      reg.image,
      "--key",
      join(tmp, "k1.private"),
      "--passphrase-file",
      join(tmp, "pass"),
    );
    assert.equal(r.status, 0, r.stderr);
    await writePolicy(join(tmp, "k1.pub"));
    d = await startTestDaemon([
      "--signature-policy",
      policyFile,
      "--registries-d",
      join(tmp, "registries.d"),
    ]);
  });
  after(async () => {
    await d?.stop();
    await reg?.stop();
    await removeTempDir(tmp);
  });

  it("admits an image signed by the policy's key, refuses it (clearly, to the docker CLI) under another key, stores nothing refused", async () => {
    let r = await docker(d, ["pull", reg.image]);
    assert.equal(r.status, 0, r.stderr);
    r = await docker(d, ["rmi", reg.image]);
    assert.equal(r.status, 0, r.stderr);

    // The policy is read at each pull: the same image under another key is refused.
    await writePolicy(join(tmp, "k2.pub"));
    r = await docker(d, ["pull", reg.image]);
    assert.notEqual(r.status, 0);
    assert.match(
      r.stderr,
      /refused by .*policy\.json transports\.docker\[.*\]\[0\] \(sigstoreSigned\): signature 1: not signed by any of the trusted keys/,
    );
    r = await docker(d, ["run", "--rm", reg.image, "true"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /\(sigstoreSigned\): signature 1: not signed by any of the trusted keys/);
    // pier's own API (pier run pulls through pierd) is refused the same way.
    r = await pierEngine(d, ["run", "--rm", reg.image, "true"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /\(sigstoreSigned\): signature 1: not signed by any of the trusted keys/);
    r = await docker(d, ["images", "-q"]);
    assert.equal(r.stdout.trim(), "");
  });
});
