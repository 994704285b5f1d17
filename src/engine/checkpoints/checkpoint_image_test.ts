/**
 * Checkpoints as OCI images between two pierd and a pier registry: `pier checkpoint push` on
 * one pierd stores a counting container's checkpoint in the registry in podman's checkpoint
 * image format with the container's image as `subject` (so `pier referrers IMAGE` lists it);
 * `pier restore REF` on another pierd, which has neither image, pulls both and the count goes
 * on. A pierd whose trust policy requires signatures refuses the unsigned checkpoint image and
 * restores it once signed. A plain image is refused as a checkpoint; `--create-image` with a
 * name is refused, naming the conflict.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { api, COUNTER, counted, countsOnFrom, until } from "../../testing/checkpoints.js";
import {
  type BusyboxRegistry,
  busyboxRegistry,
  docker,
  pier,
  requireDocker,
  startTestDaemon,
  type TestDaemon,
} from "../../testing/engine.js";
import { checkpointTestSkip } from "../../testing/runtime-criu.js";
import { pier as pierCli } from "../../testing/trust.js";
import { CHECKPOINT_ANNOTATIONS } from "./image-format.js";

const skip = await checkpointTestSkip("checkpoint_image_test");

describe("checkpoint images through a registry", { skip }, () => {
  let reg: BusyboxRegistry;
  let tmp: string;
  let a: TestDaemon;
  let b: TestDaemon;
  let strict: TestDaemon;
  let repo = "";
  before(async () => {
    requireDocker();
    tmp = await makeTempDir("pier-ckpt-image-");
    reg = await busyboxRegistry();
    repo = reg.image.replace(/:latest$/, "");
    await writeFile(join(tmp, "pass"), "pw\n");
    const k = await pierCli(
      tmp,
      "key",
      "generate",
      "--output-key-prefix",
      join(tmp, "k"),
      "--passphrase-file",
      join(tmp, "pass"),
    );
    assert.equal(k.status, 0, k.stderr);
    // Checkpoint images of this repository must be signed by k; the base image need not be.
    await writeFile(
      join(tmp, "policy.json"),
      JSON.stringify({
        default: [{ type: "insecureAcceptAnything" }],
        transports: {
          docker: {
            [reg.image]: [{ type: "insecureAcceptAnything" }],
            [repo]: [{ type: "sigstoreSigned", keyPath: join(tmp, "k.pub") }],
          },
        },
      }),
    );
    a = await startTestDaemon();
    b = await startTestDaemon();
    strict = await startTestDaemon([
      "--signature-policy",
      join(tmp, "policy.json"),
      "--registries-d",
      join(tmp, "registries.d"),
    ]);
    const r = await docker(a, ["pull", reg.image]);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    for (const d of [a, b, strict]) await d?.stop();
    await reg?.stop();
    if (tmp) await removeTempDir(tmp);
  });
  const ok = async (d: TestDaemon, args: string[]) => {
    const r = await docker(d, args);
    assert.equal(r.status, 0, `docker ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const pierOk = async (d: TestDaemon, args: string[]) => {
    const r = await pier(d, args);
    assert.equal(r.status, 0, `pier ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };

  it("pushes a checkpoint image with the container's image as subject; another pierd pulls and restores it", async () => {
    await ok(a, ["run", "-d", "--name", "counter", reg.image, "sh", "-c", COUNTER]);
    await until(async () => counted(await ok(a, ["logs", "counter"])) >= 5, "the count to reach 5");
    const ref = `${repo}:ckpt-counter`;
    const out = await pierOk(a, ["checkpoint", "push", "counter", ref]);
    assert.match(out, new RegExp(`^${ref.replace(/[.]/g, "\\.")}@sha256:[0-9a-f]{64}\\n$`));
    const digest = out.trim().split("@")[1]!;
    // The container stopped (no --leave-running); its count is final.
    assert.equal((await ok(a, ["inspect", "-f", "{{.State.Running}}", "counter"])).trim(), "false");
    const at = counted(await ok(a, ["logs", "counter"]));

    // podman's format: one layer holding the checkpoint's files, annotations on the manifest.
    const m = await pierCli(tmp, "manifest", "inspect", "--raw", "--insecure", ref);
    assert.equal(m.status, 0, m.stderr);
    const manifest = JSON.parse(m.stdout) as {
      layers: unknown[];
      subject?: { digest: string };
      annotations: Record<string, string>;
    };
    assert.equal(manifest.layers.length, 1);
    assert.equal(manifest.annotations[CHECKPOINT_ANNOTATIONS.name], "counter");
    assert.equal(manifest.annotations[CHECKPOINT_ANNOTATIONS.rootfsImageName], reg.image);
    assert.equal(manifest.annotations[CHECKPOINT_ANNOTATIONS.runtimeName], "runc");
    const base = await pierCli(tmp, "manifest", "inspect", "--insecure", reg.image);
    const baseDigest = (JSON.parse(base.stdout) as { digest: string }).digest;
    assert.equal(manifest.subject?.digest, baseDigest);

    // The image's referrers list its checkpoint.
    const refs = await pierCli(tmp, "referrers", "--insecure", "--format", "json", reg.image);
    assert.equal(refs.status, 0, refs.stderr);
    const listed = (JSON.parse(refs.stdout) as { referrers: { digest: string }[] }).referrers;
    assert.ok(
      listed.some((d) => d.digest === digest),
      `referrers of ${reg.image} list ${digest}: ${refs.stdout}`,
    );

    // b has neither image: it pulls both, restores under the checkpointed name, counts on.
    const id = (await pierOk(b, ["restore", ref])).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal((await ok(b, ["inspect", "-f", "{{.State.Status}}", "counter"])).trim(), "running");
    await until(async () => countsOnFrom(await ok(b, ["logs", "counter"]), at) >= 3, "b's count to go on");

    // A pierd requiring signatures for the repository refuses it unsigned, stores nothing.
    const refused = await pier(strict, ["restore", "--name", "signed", ref]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /signature|policy/i);
    assert.equal((await docker(strict, ["inspect", "signed"])).status, 1);
    assert.equal(
      (await docker(strict, ["image", "inspect", ref])).status,
      1,
      "the refused image is not stored",
    );
    // Signed, it restores.
    const s = await pierCli(
      tmp,
      "sign",
      ref,
      "--key",
      join(tmp, "k.private"),
      "--passphrase-file",
      join(tmp, "pass"),
    );
    assert.equal(s.status, 0, s.stderr);
    await pierOk(strict, ["restore", "--name", "signed", ref]);
    await until(
      async () => countsOnFrom(await ok(strict, ["logs", "signed"]), at) >= 3,
      "the signed one's count",
    );
    for (const d of [a, b]) await ok(d, ["rm", "-f", "counter"]);
    await ok(strict, ["rm", "-f", "signed"]);
  });

  it("--create-image makes a local image; a plain image is not a checkpoint; conflicting flags are refused", async () => {
    await ok(a, ["run", "-d", "--name", "local", reg.image, "sh", "-c", COUNTER]);
    await until(async () => counted(await ok(a, ["logs", "local"])) >= 3, "the count to reach 3");
    const bad = await pier(a, ["checkpoint", "create", "--create-image", "ckpt:local", "local", "named"]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /name, checkpointDir and export do not apply/);
    const out = await pierOk(a, [
      "checkpoint",
      "create",
      "--leave-running",
      "--create-image",
      "ckpt:local",
      "local",
    ]);
    assert.match(out, /^localhost\/ckpt:local@sha256:|^docker\.io\/library\/ckpt:local@sha256:/);
    assert.equal((await ok(a, ["inspect", "-f", "{{.State.Running}}", "local"])).trim(), "true");
    // Restored here under another name, from the local image (no pull).
    await pierOk(a, ["restore", "--name", "local2", "ckpt:local"]);
    assert.equal((await ok(a, ["inspect", "-f", "{{.State.Status}}", "local2"])).trim(), "running");
    const plain = await api(a.socket, "POST", "/v1/containers/restore", JSON.stringify({ image: reg.image }));
    assert.equal(plain.status, 400, plain.body.toString());
    assert.match(plain.body.toString(), /is not a checkpoint image/);
    await ok(a, ["rm", "-f", "local", "local2"]);
  });
});
