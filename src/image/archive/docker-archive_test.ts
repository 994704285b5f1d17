import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { isPierError } from "../../errors.js";
import { MediaType } from "../../oci/media-types.js";
import { hostPlatform } from "../../oci/platform.js";
import { parseManifest } from "../../oci/validate.js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { blobCount, openImageLayout, writeTinyImage } from "../../testing/tiny-image.js";
import { runTool } from "../../testing/umoci.js";
import { exportDockerArchive, importDockerArchive } from "./docker-archive.js";

const skopeo = (...args: string[]) => runTool("skopeo", args);

describe("docker archives", () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir("pier-dockerarchive-");
  });
  after(async () => {
    await removeTempDir(dir);
  });

  test("pier imports what skopeo writes: OCI manifest, same config, plain layers = diff ids", async () => {
    const src = await openImageLayout(join(dir, "src"));
    const image = await writeTinyImage(src.store, undefined, { compression: "gzip" });
    await src.layout.set("v1", image.manifest);
    const archive = join(dir, "skopeo.tar");
    await skopeo(
      "copy",
      "-q",
      `oci:${src.store.root}:v1`,
      `docker-archive:${archive}:example.com/team/app:v1`,
    );
    const dst = await openImageLayout(join(dir, "dst"));
    const imported = await importDockerArchive(archive, dst.store, dst.layout);
    assert.equal(imported.length, 1);
    assert.equal(imported[0]!.name, "example.com/team/app:v1");
    const manifest = parseManifest(await dst.store.readBytes(imported[0]!.descriptor.digest));
    assert.equal(manifest.mediaType, MediaType.OciManifest);
    assert.equal(manifest.config.mediaType, MediaType.OciConfig);
    assert.equal(manifest.config.digest, image.config.digest, "config bytes kept");
    assert.deepEqual(
      manifest.layers.map((l) => [l.mediaType, l.digest]),
      image.diffIds.map((d) => [MediaType.OciLayer, d]),
    );
    assert.equal(
      (await dst.layout.resolve("example.com/team/app:v1"))?.digest,
      imported[0]!.descriptor.digest,
    );
    // The same archive gzip-compressed as a whole (docker save | gzip) imports the same.
    const gz = join(dir, "skopeo.tar.gz");
    await writeFile(gz, gzipSync(await readFile(archive)));
    const dst2 = await openImageLayout(join(dir, "dst2"));
    const again = await importDockerArchive(gz, dst2.store, dst2.layout);
    assert.equal(again[0]!.descriptor.digest, imported[0]!.descriptor.digest);
  });

  for (const compression of ["gzip", "zstd", "none"] as const) {
    test(`skopeo reads what pier writes from ${compression} layers, and pier reads it back`, async () => {
      const src = await openImageLayout(join(dir, `export-${compression}`));
      const image = await writeTinyImage(src.store, undefined, { compression });
      await src.layout.set("localhost:5000/app:1.0", image.manifest);
      await src.layout.set("localhost:5000/app:latest", image.manifest);
      const archive = join(dir, `pier-${compression}.tar`);
      const written = await exportDockerArchive(
        src.store,
        src.layout,
        ["localhost:5000/app:1.0", "localhost:5000/app:latest"],
        archive,
      );
      assert.deepEqual(written[0]!.RepoTags, ["localhost:5000/app:1.0", "localhost:5000/app:latest"]);
      const inspect = JSON.parse(await skopeo("inspect", `docker-archive:${archive}:localhost:5000/app:1.0`));
      assert.deepEqual(inspect.Layers, image.diffIds);
      const copied = join(dir, `copied-${compression}`);
      await skopeo("copy", "-q", `docker-archive:${archive}:localhost:5000/app:latest`, `oci:${copied}:x`);
      const config = JSON.parse(await skopeo("inspect", "--config", `oci:${copied}:x`));
      assert.deepEqual(config.rootfs.diff_ids, image.diffIds);
      const back = await openImageLayout(join(dir, `back-${compression}`));
      const imported = await importDockerArchive(archive, back.store, back.layout);
      assert.deepEqual(imported.map((i) => i.name).sort(), [
        "localhost:5000/app:1.0",
        "localhost:5000/app:latest",
      ]);
      const manifest = parseManifest(await back.store.readBytes(imported[0]!.descriptor.digest));
      assert.equal(manifest.config.digest, image.config.digest);
    });
  }

  test("an index is exported as the manifest for this host's platform", async () => {
    const src = await openImageLayout(join(dir, "index-src"));
    const image = await writeTinyImage(src.store);
    const other = await writeTinyImage(src.store, [{ other: "arch" }]);
    const host = hostPlatform();
    const indexDoc = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        {
          ...other.manifest,
          platform: { os: "linux", architecture: host.architecture === "s390x" ? "ppc64le" : "s390x" },
        },
        { ...image.manifest, platform: host },
      ],
    };
    const index = await src.store.ingest(JSON.stringify(indexDoc));
    await src.layout.set("localhost/multi:1", { mediaType: MediaType.OciIndex, ...index });
    const archive = join(dir, "index.tar");
    await exportDockerArchive(src.store, src.layout, ["localhost/multi:1"], archive);
    const inspect = JSON.parse(await skopeo("inspect", `docker-archive:${archive}`));
    assert.deepEqual(inspect.Layers, image.diffIds);
  });

  test("podman loads what pier writes (same image id), and pier imports what podman saves", async () => {
    const src = await openImageLayout(join(dir, "podman-src"));
    const image = await writeTinyImage(src.store, undefined, { compression: "gzip" });
    await src.layout.set("localhost/pier-podman:1", image.manifest);
    const archive = join(dir, "for-podman.tar");
    await exportDockerArchive(src.store, src.layout, ["localhost/pier-podman:1"], archive);
    // A private podman store (vfs driver) so the host's images are never touched.
    const root = join(dir, "podman-root");
    const podman = (...args: string[]) => {
      try {
        return execFileSync(
          "podman",
          [
            "--root",
            join(root, "storage"),
            "--runroot",
            join(root, "run"),
            "--storage-driver",
            "vfs",
            ...args,
          ],
          {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
          },
        );
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT")
          throw new Error("podman is not installed: apt-get install -y podman");
        throw err;
      }
    };
    try {
      podman("load", "-q", "-i", archive);
      assert.equal(
        podman("image", "inspect", "--format", "{{.Id}}", "localhost/pier-podman:1").trim(),
        image.config.digest.slice(7),
      );
      const saved = join(dir, "from-podman.tar");
      podman("save", "-q", "--format", "docker-archive", "-o", saved, "localhost/pier-podman:1");
      const dst = await openImageLayout(join(dir, "podman-dst"));
      const imported = await importDockerArchive(saved, dst.store, dst.layout);
      assert.deepEqual(
        imported.map((i) => i.name),
        ["localhost/pier-podman:1"],
      );
      const manifest = parseManifest(await dst.store.readBytes(imported[0]!.descriptor.digest));
      assert.equal(manifest.config.digest, image.config.digest);
    } finally {
      try {
        podman("rmi", "-a", "-f");
      } catch {
        // the store is removed with the temp directory anyway
      }
    }
  });

  test("docker 25+ archives (blobs/sha256 paths) and legacy <id>/layer.tar files both import", async () => {
    const src = await openImageLayout(join(dir, "styles-src"));
    const image = await writeTinyImage(src.store);
    const hex = (d: string) => d.slice(7);
    // docker 25+: an OCI layout plus manifest.json pointing into blobs/sha256.
    const modern = join(dir, "modern");
    execFileSync("mkdir", ["-p", join(modern, "blobs", "sha256")]);
    for (const d of [image.manifest, image.config, ...image.layers]) {
      execFileSync("cp", [src.store.blobPath(d.digest), join(modern, "blobs", "sha256", hex(d.digest))]);
    }
    await writeFile(join(modern, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(
      join(modern, "index.json"),
      JSON.stringify({ schemaVersion: 2, manifests: [image.manifest] }),
    );
    await writeFile(
      join(modern, "manifest.json"),
      JSON.stringify([
        {
          Config: `blobs/sha256/${hex(image.config.digest)}`,
          RepoTags: ["modern:1"],
          Layers: image.layers.map((l) => `blobs/sha256/${hex(l.digest)}`),
        },
      ]),
    );
    execFileSync("tar", ["-C", modern, "-cf", join(dir, "modern.tar"), "."]);
    // Legacy docker save: real files at <id>/layer.tar.
    const legacy = join(dir, "legacy");
    const layerDirs = image.layers.map((_, i) => `${String(i).repeat(64)}`);
    for (const [i, l] of image.layers.entries()) {
      execFileSync("mkdir", ["-p", join(legacy, layerDirs[i]!)]);
      execFileSync("cp", [src.store.blobPath(l.digest), join(legacy, layerDirs[i]!, "layer.tar")]);
    }
    execFileSync("cp", [
      src.store.blobPath(image.config.digest),
      join(legacy, `${hex(image.config.digest)}.json`),
    ]);
    await writeFile(
      join(legacy, "manifest.json"),
      JSON.stringify([
        {
          Config: `${hex(image.config.digest)}.json`,
          RepoTags: ["legacy:1"],
          Layers: layerDirs.map((d) => `${d}/layer.tar`),
        },
      ]),
    );
    execFileSync("tar", ["-C", legacy, "-cf", join(dir, "legacy.tar"), "."]);
    const dst = await openImageLayout(join(dir, "styles-dst"));
    for (const [file, name] of [
      ["modern.tar", "docker.io/library/modern:1"],
      ["legacy.tar", "docker.io/library/legacy:1"],
    ] as const) {
      const [imported] = await importDockerArchive(join(dir, file), dst.store, dst.layout);
      assert.equal(imported!.name, name);
      const manifest = parseManifest(await dst.store.readBytes(imported!.descriptor.digest));
      assert.equal(manifest.config.digest, image.config.digest);
      assert.deepEqual(
        manifest.layers.map((l) => l.digest),
        image.diffIds,
      );
    }
  });

  test("a 256 MiB layer is streamed through export and import, never held in memory", async (t) => {
    const root = join(dir, "big");
    const mod = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
    // One child process builds a gzip layer by streaming, exports and re-imports it, and reports
    // its peak RSS: buffering the layer anywhere would push it past the layer's size.
    const code = `import { createGzip } from "node:zlib";
import { Readable } from "node:stream";
import { createHash, randomBytes } from "node:crypto";
import { openImageLayout } from ${mod("../../testing/tiny-image.js")};
import { exportDockerArchive, importDockerArchive } from ${mod("./docker-archive.js")};
const { store, layout } = await openImageLayout(${JSON.stringify(root)});
const diff = createHash("sha256");
// Mostly zeros, so gzip is quick; a random head makes every MiB different.
const seed = randomBytes(4096);
async function* tar() {
  const header = Buffer.alloc(512);
  header.write("big.bin", 0); header.write("0000644\\0", 100); header.write("0000000\\0", 108); header.write("0000000\\0", 116);
  header.write((256 * 1024 * 1024).toString(8).padStart(11, "0") + "\\0", 124); header.write("00000000000\\0", 136);
  header.write("0", 156); header.write("ustar\\0", 257); header.write("00", 263); header.fill(" ", 148, 156);
  let sum = 0; for (const b of header) sum += b; header.write(sum.toString(8).padStart(6, "0") + "\\0 ", 148);
  yield header;
  for (let i = 0; i < 256; i++) { const c = Buffer.alloc(1 << 20); seed.copy(c); c.writeUInt32BE(i, 0); yield c; }
  yield Buffer.alloc(1024);
}
const plain = Readable.from(tar()).on("data", (c) => diff.update(c));
const layer = await store.ingest(plain.pipe(createGzip({ level: 1 })));
const diffId = "sha256:" + diff.digest("hex");
const config = await store.ingest(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [diffId] } }));
const manifest = await store.ingest(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }] }));
await layout.set("localhost/big:1", { mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest });
await exportDockerArchive(store, layout, ["localhost/big:1"], ${JSON.stringify(join(dir, "big.tar"))});
const back = await openImageLayout(${JSON.stringify(join(dir, "big-back"))});
const [img] = await importDockerArchive(${JSON.stringify(join(dir, "big.tar"))}, back.store, back.layout);
const m = JSON.parse(await back.store.readBytes(img.descriptor.digest));
if (m.layers[0].digest !== diffId) throw new Error("layer digest is not the diff id");
process.stdout.write(String(process.resourceUsage().maxRSS * 1024));`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" });
    const peak = Number(out);
    t.diagnostic(`peak RSS ${Math.round(peak / 1048576)} MiB`);
    assert.ok(peak > 0);
    assert.ok(peak < 200 * 1024 * 1024, `peak RSS ${Math.round(peak / 1048576)} MiB for a 256 MiB layer`);
  });

  test("a layer that does not match its diff id fails the import and leaves nothing behind", async () => {
    const src = await openImageLayout(join(dir, "tamper-src"));
    const image = await writeTinyImage(src.store);
    await src.layout.set("v1", image.manifest);
    const staging = join(dir, "tamper");
    execFileSync("mkdir", ["-p", staging]);
    await exportDockerArchive(src.store, src.layout, ["v1"], join(dir, "ok.tar"));
    execFileSync("tar", ["-C", staging, "-xf", join(dir, "ok.tar")]);
    const layer = join(staging, `${image.diffIds[1]!.slice(7)}.tar`);
    execFileSync("chmod", ["u+w", layer]);
    await appendFile(layer, Buffer.alloc(1024));
    const archive = join(dir, "tampered.tar");
    execFileSync("tar", ["-C", staging, "-cf", archive, "."]);
    const dst = await openImageLayout(join(dir, "tamper-dst"));
    await assert.rejects(importDockerArchive(archive, dst.store, dst.layout), (e: unknown) => {
      assert.ok(isPierError(e, "DIFF_ID_MISMATCH"), String(e));
      assert.match(e.message, new RegExp(image.diffIds[1]!));
      return true;
    });
    assert.deepEqual(await dst.layout.list(), []);
    // The config (named by its digest) was new and is rolled back; the unverifiable layer
    // files (named by nothing) stay unreferenced for GC.
    assert.equal(await dst.store.info(image.config.digest), undefined);
    assert.ok((await blobCount(dst.store)) <= 2);
  });

  test("malformed archives get errors naming the problem", async () => {
    const dst = await openImageLayout(join(dir, "bad-dst"));
    const staging = join(dir, "bad");
    execFileSync("mkdir", ["-p", staging]);
    const archive = join(dir, "bad.tar");
    const pack = async (manifest: string) => {
      await writeFile(join(staging, "manifest.json"), manifest);
      execFileSync("tar", ["-C", staging, "-cf", archive, "."]);
    };
    await pack("{}");
    await assert.rejects(
      importDockerArchive(archive, dst.store, dst.layout),
      /manifest\.json: must be a JSON array/,
    );
    await pack('[{"Config":"abc.json","RepoTags":null,"Layers":[]}]');
    await assert.rejects(
      importDockerArchive(archive, dst.store, dst.layout),
      /manifest\.json\[0\]\.Config: "abc\.json" is not in the archive/,
    );
    await pack('[{"Config":"../../etc/passwd","RepoTags":null,"Layers":[]}]');
    await assert.rejects(importDockerArchive(archive, dst.store, dst.layout), (e) =>
      isPierError(e, "INVALID_ARCHIVE"),
    );
    await assert.rejects(exportDockerArchive(dst.store, dst.layout, ["absent:1"], join(dir, "x.tar")), (e) =>
      isPierError(e, "IMAGE_NOT_FOUND"),
    );
    assert.equal(existsSync(join(dir, "x.tar")), false);
    assert.equal(await blobCount(dst.store), 0);
  });
});
