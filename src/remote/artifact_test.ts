import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { hostPlatform } from "../oci/platform.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { type RunningRegistry, startDockerRegistry } from "../testing/remote-docker-registry.js";
import { writeBusyboxImage } from "../testing/remote-image.js";
import { pullArtifact, pushArtifact, safeTitle } from "./artifact.js";
import { copy } from "./copy-transports.js";
import { listReferrers } from "./inspect.js";

let reg: RunningRegistry;
let tmp: string;
before(async () => {
  reg = await startDockerRegistry();
  tmp = await makeTempDir("pier-remote-artifact-");
});
after(async () => {
  await reg?.stop();
  if (tmp) await removeTempDir(tmp);
});

test("artifact push with a subject, referrers via the fallback tag, copy --referrers, artifact pull", async () => {
  const layout = join(tmp, "img");
  const image = await writeBusyboxImage(layout, "v1", hostPlatform());
  await copy(`oci:${layout}:v1`, `docker://${reg.host}/app/img:v1`, { insecure: true });

  const sbom = join(tmp, "sbom.spdx.json");
  await writeFile(sbom, JSON.stringify({ spdxVersion: "SPDX-2.3", name: "busybox" }));
  const sig = join(tmp, "sig.txt");
  await writeFile(sig, "signature bytes");
  const pushed = await pushArtifact(`${reg.host}/app/img:sbom`, [sbom], {
    insecure: true,
    artifactType: "application/spdx+json",
    subject: `${reg.host}/app/img:v1`,
  });
  const signed = await pushArtifact(`${reg.host}/app/img@${image.digest}`, [sig], {
    insecure: true,
    artifactType: "application/vnd.example.signature",
    subject: `${reg.host}/app/img:v1`,
  });

  const refs = await listReferrers(`${reg.host}/app/img:v1`, { insecure: true });
  assert.equal(refs.subject, image.digest);
  assert.equal(refs.api, false, "distribution 2.8 has no referrers API: the fallback tag answers");
  assert.deepEqual(refs.referrers.map((r) => r.digest).sort(), [pushed.digest, signed.digest].sort());
  assert.deepEqual(refs.referrers.map((r) => r.artifactType).sort(), [
    "application/spdx+json",
    "application/vnd.example.signature",
  ]);
  const onlySboms = await listReferrers(`${reg.host}/app/img:v1`, {
    insecure: true,
    artifactType: "application/spdx+json",
  });
  assert.deepEqual(
    onlySboms.referrers.map((r) => r.digest),
    [pushed.digest],
  );

  // Copy with referrers: the SBOM and signature come along, found in the new repository.
  await copy(`docker://${reg.host}/app/img:v1`, `docker://${reg.host}/mirror/img:v1`, {
    insecure: true,
    referrers: true,
  });
  const mirrored = await listReferrers(`${reg.host}/mirror/img:v1`, { insecure: true });
  assert.deepEqual(mirrored.referrers.map((r) => r.digest).sort(), [pushed.digest, signed.digest].sort());

  const out = join(tmp, "out");
  const pulled = await pullArtifact(`${reg.host}/mirror/img@${pushed.digest}`, out, { insecure: true });
  assert.equal(pulled.artifactType, "application/spdx+json");
  assert.deepEqual(pulled.files, [join(out, "sbom.spdx.json")]);
  assert.equal(await readFile(join(out, "sbom.spdx.json"), "utf8"), await readFile(sbom, "utf8"));
});

test("artifact titles that would escape the output directory are refused", () => {
  assert.equal(safeTitle("a.txt"), "a.txt");
  for (const bad of ["../x", "/etc/passwd", "a/b", "..", ""])
    assert.throws(() => safeTitle(bad), /not a plain file name/);
});

test("chunked uploads (fixed chunk size) and one streamed PATCH both keep the digest", async () => {
  const layout = join(tmp, "chunks");
  const { writeRandomImage } = await import("../testing/remote-image.js");
  const desc = await writeRandomImage(layout, "c", [5 * 1024 * 1024 + 123, 9 * 1024 * 1024]);
  const a = await copy(`oci:${layout}:c`, `docker://${reg.host}/chunked/img:1`, {
    insecure: true,
    chunkSize: 1024 * 1024,
    monolithicMaxBytes: 0,
  });
  assert.equal(a.digest, desc.digest);
  const b = await copy(`oci:${layout}:c`, `docker://${reg.host}/streamed/img:1`, {
    insecure: true,
    monolithicMaxBytes: 0,
  });
  assert.equal(b.digest, desc.digest);
  const back = await copy(`docker://${reg.host}/chunked/img:1`, `oci:${join(tmp, "chunks-back")}:c`, {
    insecure: true,
  });
  assert.equal(back.digest, desc.digest);
});
