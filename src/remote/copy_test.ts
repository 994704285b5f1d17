import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { hostPlatform } from "../oci/platform.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { type RunningRegistry, startDockerRegistry } from "../testing/remote-docker-registry.js";
import { writeBusyboxImage, writeMultiArchImage } from "../testing/remote-image.js";
import { copy } from "./copy-transports.js";
import type { ProgressEvent } from "./progress-events.js";
import { pull, push } from "./pull.js";

let reg: RunningRegistry;
let tmp: string;

before(async () => {
  reg = await startDockerRegistry();
  tmp = await makeTempDir("pier-remote-copy-");
});
after(async () => {
  await reg?.stop();
  if (tmp) await removeTempDir(tmp);
});

function skopeo(...args: string[]): string {
  if (!existsSync("/usr/bin/skopeo")) throw new Error("skopeo is missing: apt-get install -y skopeo");
  return execFileSync("skopeo", args, { encoding: "utf8" });
}

test("oci layout -> docker-registry -> store keeps every digest; skopeo reads what pier pushed", async () => {
  const layout = join(tmp, "src");
  const desc = await writeBusyboxImage(layout, "v1", hostPlatform());
  const events: ProgressEvent[] = [];
  const pushed = await copy(`oci:${layout}:v1`, `docker://${reg.host}/test/busybox:v1`, {
    insecure: true,
    onProgress: (e) => events.push(e),
  });
  assert.equal(pushed.digest, desc.digest);
  assert.ok(events.some((e) => e.type === "done"));
  assert.ok(events.some((e) => e.type === "bytes"));

  const inspected = JSON.parse(
    skopeo("inspect", "--tls-verify=false", "--raw", `docker://${reg.host}/test/busybox:v1`),
  );
  assert.equal(inspected.layers.length, 1);
  const skopeoDigest = skopeo(
    "inspect",
    "--tls-verify=false",
    "--format",
    "{{.Digest}}",
    `docker://${reg.host}/test/busybox:v1`,
  ).trim();
  assert.equal(skopeoDigest, desc.digest);

  // Pushing again moves no blob.
  const again: ProgressEvent[] = [];
  await copy(`oci:${layout}:v1`, `docker://${reg.host}/test/busybox:v1`, {
    insecure: true,
    onProgress: (e) => again.push(e),
  });
  assert.ok(again.filter((e) => e.type === "start").length >= 2);
  assert.equal(again.filter((e) => e.type === "done").length, 0);

  // Another repository of the same registry: blobs are mounted, not uploaded.
  const mounted: ProgressEvent[] = [];
  await copy(`docker://${reg.host}/test/busybox:v1`, `docker://${reg.host}/other/busybox:v1`, {
    insecure: true,
    onProgress: (e) => mounted.push(e),
  });
  assert.ok(
    mounted.some((e) => e.type === "mounted"),
    JSON.stringify(mounted.map((e) => e.type)),
  );
  assert.equal(mounted.filter((e) => e.type === "done").length, 0);

  const store = join(tmp, "store");
  const pulled = await pull(`${reg.host}/other/busybox:v1`, { insecure: true, storeRoot: store });
  assert.equal(pulled.digest, desc.digest);
  const index = JSON.parse(await readFile(join(store, "content", "index.json"), "utf8"));
  assert.equal(
    index.manifests[0].annotations["org.opencontainers.image.ref.name"],
    `${reg.host}/other/busybox:v1`,
  );
  // skopeo reads pier's store as an OCI layout.
  const viaSkopeo = skopeo(
    "inspect",
    "--format",
    "{{.Digest}}",
    `oci:${join(store, "content")}:${reg.host}/other/busybox:v1`,
  ).trim();
  assert.equal(viaSkopeo, desc.digest);

  // And push from the store to a third repository.
  const back = await push(`${reg.host}/third/busybox:v1`, {
    insecure: true,
    storeRoot: store,
    localName: `${reg.host}/other/busybox:v1`,
  });
  assert.equal(back.digest, desc.digest);
});

test("skopeo pushes, pier pulls: digests match and the blobs are verified on disk", async () => {
  const layout = join(tmp, "sk");
  const desc = await writeBusyboxImage(layout, "x", hostPlatform());
  skopeo("copy", "--dest-tls-verify=false", `oci:${layout}:x`, `docker://${reg.host}/sk/img:x`);
  const out = join(tmp, "sk-out");
  const res = await copy(`docker://${reg.host}/sk/img:x`, `oci:${out}:x`, { insecure: true });
  assert.equal(res.digest, desc.digest);
  skopeo("copy", `oci:${out}:x`, `oci:${join(tmp, "sk-out2")}:x`); // skopeo validates every blob digest
});

test("multi-arch index: host platform by default, --platform picks another, --all-platforms keeps the index", async () => {
  const layout = join(tmp, "multi");
  const platforms = [
    { os: "linux", architecture: "amd64" },
    { os: "linux", architecture: "arm64", variant: "v8" },
    { os: "linux", architecture: "s390x" },
  ];
  const indexDesc = await writeMultiArchImage(layout, "multi", platforms);
  await copy(`oci:${layout}:multi`, `docker://${reg.host}/multi/img:1`, {
    insecure: true,
    allPlatforms: true,
  });
  const indexRaw = JSON.parse(
    skopeo("inspect", "--tls-verify=false", "--raw", `docker://${reg.host}/multi/img:1`),
  );
  assert.equal(indexRaw.manifests.length, 3);

  const host = hostPlatform();
  const hostEntry = indexRaw.manifests.find(
    (m: { platform: { architecture: string } }) => m.platform.architecture === host.architecture,
  );
  const r1 = await pull(`${reg.host}/multi/img:1`, { insecure: true, storeRoot: join(tmp, "m1") });
  assert.equal(r1.digest, hostEntry.digest);

  const r2 = await pull(`${reg.host}/multi/img:1`, {
    insecure: true,
    storeRoot: join(tmp, "m2"),
    platform: { os: "linux", architecture: "s390x" },
  });
  assert.equal(r2.digest, indexRaw.manifests[2].digest);

  await assert.rejects(
    pull(`${reg.host}/multi/img:1`, {
      insecure: true,
      storeRoot: join(tmp, "m3"),
      platform: { os: "linux", architecture: "mips" },
    }),
    /no manifest for platform linux\/mips.*linux\/amd64/,
  );

  const r4 = await pull(`${reg.host}/multi/img:1`, {
    insecure: true,
    storeRoot: join(tmp, "m4"),
    allPlatforms: true,
  });
  assert.equal(r4.digest, indexDesc.digest);
  assert.equal(r4.manifests.length, 4);
});

test("archives: oci-archive keeps digests both ways; docker-archive is readable by skopeo", async () => {
  const layout = join(tmp, "arch-src");
  const desc = await writeBusyboxImage(layout, "a", hostPlatform());
  const ociTar = join(tmp, "img-oci.tar");
  const r1 = await copy(`oci:${layout}:a`, `oci-archive:${ociTar}:a`);
  assert.equal(r1.digest, desc.digest);
  const r2 = await copy(`oci-archive:${ociTar}:a`, `docker://${reg.host}/arch/img:1`, { insecure: true });
  assert.equal(r2.digest, desc.digest);
  assert.equal(skopeo("inspect", "--format", "{{.Digest}}", `oci-archive:${ociTar}:a`).trim(), desc.digest);

  const dockerTar = join(tmp, "img-docker.tar");
  await copy(`docker://${reg.host}/arch/img:1`, `docker-archive:${dockerTar}:arch/img:1`, { insecure: true });
  const inspected = JSON.parse(skopeo("inspect", `docker-archive:${dockerTar}`));
  assert.equal(inspected.Layers.length, 1);
  const manifestJson = JSON.parse(
    execFileSync("tar", ["-xOf", dockerTar, "manifest.json"], { encoding: "utf8" }),
  );
  assert.match(manifestJson[0].RepoTags[0], /(^|\/)arch\/img:1$/);
  const back = await copy(`docker-archive:${dockerTar}`, `oci:${join(tmp, "arch-back")}:x`);
  assert.ok(back.digest.startsWith("sha256:"));

  // A failed copy leaves no archive behind.
  const missing = join(tmp, "never.tar");
  await assert.rejects(
    copy(`docker://${reg.host}/arch/nope:1`, `oci-archive:${missing}`, { insecure: true }),
    {
      code: "NOT_FOUND",
    },
  );
  assert.equal(existsSync(missing), false);
});

test("--format docker and back to oci: blobs keep their digests, skopeo reads both", async () => {
  const layout = join(tmp, "fmt");
  const desc = await writeBusyboxImage(layout, "f", hostPlatform());
  const d = await copy(`oci:${layout}:f`, `docker://${reg.host}/fmt/img:docker`, {
    insecure: true,
    format: "docker",
  });
  assert.notEqual(d.digest, desc.digest);
  const raw = JSON.parse(
    skopeo("inspect", "--tls-verify=false", "--raw", `docker://${reg.host}/fmt/img:docker`),
  );
  assert.equal(raw.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
  assert.equal(raw.config.mediaType, "application/vnd.docker.container.image.v1+json");
  assert.equal(raw.layers[0].mediaType, "application/vnd.docker.image.rootfs.diff.tar.gzip");
  const original = JSON.parse(await readFile(join(layout, "blobs", "sha256", desc.digest.slice(7)), "utf8"));
  assert.equal(raw.config.digest, original.config.digest);
  assert.equal(raw.layers[0].digest, original.layers[0].digest);
  const o = await copy(`docker://${reg.host}/fmt/img:docker`, `oci:${join(tmp, "fmt-back")}:f`, {
    insecure: true,
    format: "oci",
  });
  assert.equal(o.mediaType, "application/vnd.oci.image.manifest.v1+json");
  skopeo("copy", `oci:${join(tmp, "fmt-back")}:f`, `oci:${join(tmp, "fmt-back2")}:f`);
});

test("--dest-compress zstd then gzip: layers recompressed, config and diff ids unchanged", async () => {
  const layout = join(tmp, "zst");
  const desc = await writeBusyboxImage(layout, "z", hostPlatform());
  const original = JSON.parse(await readFile(join(layout, "blobs", "sha256", desc.digest.slice(7)), "utf8"));
  const z = await copy(`oci:${layout}:z`, `docker://${reg.host}/zst/img:1`, {
    insecure: true,
    destCompress: "zstd",
  });
  assert.notEqual(z.digest, desc.digest);
  const raw = JSON.parse(skopeo("inspect", "--tls-verify=false", "--raw", `docker://${reg.host}/zst/img:1`));
  assert.equal(raw.layers[0].mediaType, "application/vnd.oci.image.layer.v1.tar+zstd");
  assert.equal(raw.config.digest, original.config.digest);
  assert.notEqual(raw.layers[0].digest, original.layers[0].digest);
  const back = join(tmp, "zst-back");
  const g = await copy(`docker://${reg.host}/zst/img:1`, `oci:${back}:g`, {
    insecure: true,
    destCompress: "gzip",
  });
  const regz = JSON.parse(await readFile(join(back, "blobs", "sha256", g.digest.slice(7)), "utf8"));
  assert.equal(regz.layers[0].mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
  assert.equal(regz.config.digest, original.config.digest);
  // umoci checks each layer against the config's diff ids when it unpacks.
  execFileSync("umoci", ["raw", "unpack", "--rootless", "--image", `${back}:g`, join(tmp, "zst-rootfs")], {
    stdio: "pipe",
  });
  assert.ok(existsSync(join(tmp, "zst-rootfs", "bin", "busybox")));
});
