import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isPierError } from "../../errors.js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { blobCount, openImageLayout, writeTinyImage } from "../../testing/tiny-image.js";
import { runTool } from "../../testing/umoci.js";
import { exportOciArchive, importOciArchive } from "./oci-archive.js";

const skopeo = (...args: string[]) => runTool("skopeo", args);

describe("OCI archives", () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir("pier-ociarchive-");
  });
  after(async () => {
    await removeTempDir(dir);
  });

  test("skopeo reads what pier exports, pier imports what skopeo exports, digests unchanged", async () => {
    const src = await openImageLayout(join(dir, "src"));
    const image = await writeTinyImage(src.store, undefined, { compression: "gzip" });
    await src.layout.set("v1", image.manifest);
    const ours = join(dir, "pier.tar");
    await exportOciArchive(src.store, src.layout, ["v1"], ours);
    const inspect = JSON.parse(await skopeo("inspect", `oci-archive:${ours}:v1`));
    assert.equal(inspect.Digest, image.manifest.digest);
    await skopeo("copy", "-q", `oci-archive:${ours}:v1`, `oci:${join(dir, "via-skopeo")}:v1`);
    const theirs = join(dir, "skopeo.tar");
    await skopeo("copy", "-q", `oci:${src.store.root}:v1`, `oci-archive:${theirs}:v1`);
    const dst = await openImageLayout(join(dir, "dst"));
    const imported = await importOciArchive(theirs, dst.store, dst.layout);
    assert.deepEqual(
      imported.map((i) => [i.name, i.descriptor.digest]),
      [["v1", image.manifest.digest]],
    );
    for (const d of [image.manifest, image.config, ...image.layers])
      assert.ok(await dst.store.info(d.digest), d.digest);
    // Round trip through pier itself.
    const again = await openImageLayout(join(dir, "again"));
    await importOciArchive(ours, again.store, again.layout);
    assert.equal((await again.layout.resolve("v1"))?.digest, image.manifest.digest);
  });

  test("a blob whose bytes do not match its name fails the import and leaves nothing behind", async () => {
    const staging = join(dir, "tampered");
    const src = await openImageLayout(staging);
    const image = await writeTinyImage(src.store);
    await src.layout.set("v1", image.manifest);
    const layer = src.store.blobPath(image.layers[0]!.digest);
    execFileSync("chmod", ["u+w", layer]);
    await writeFile(layer, "evil bytes");
    const archive = join(dir, "tampered.tar");
    execFileSync("tar", ["-C", staging, "-cf", archive, "oci-layout", "index.json", "blobs"]);
    const dst = await openImageLayout(join(dir, "tampered-dst"));
    await assert.rejects(
      importOciArchive(archive, dst.store, dst.layout),
      (e) => isPierError(e, "SIZE_MISMATCH") || isPierError(e, "DIGEST_MISMATCH"),
    );
    assert.equal(await blobCount(dst.store), 0);
    assert.deepEqual(await dst.layout.list(), []);
  });

  test("an archive missing a blob its index reaches is refused", async () => {
    const staging = join(dir, "incomplete");
    const src = await openImageLayout(staging);
    const image = await writeTinyImage(src.store);
    await src.layout.set("v1", image.manifest);
    await src.store.delete(image.config.digest);
    const archive = join(dir, "incomplete.tar");
    execFileSync("tar", ["-C", staging, "-cf", archive, "oci-layout", "index.json", "blobs"]);
    const dst = await openImageLayout(join(dir, "incomplete-dst"));
    await assert.rejects(importOciArchive(archive, dst.store, dst.layout), (e: unknown) => {
      assert.ok(isPierError(e, "MISSING_ENTRY"));
      assert.match(e.message, new RegExp(image.config.digest));
      return true;
    });
    assert.equal(await blobCount(dst.store), 0, "blobs of the failed import are removed");
    // And exporting an incomplete image is refused before any file appears.
    const out = join(dir, "incomplete-export.tar");
    await assert.rejects(exportOciArchive(src.store, src.layout, ["v1"], out), (e) =>
      isPierError(e, "MISSING_ENTRY"),
    );
    assert.equal(existsSync(out), false);
  });

  test("bad archives get clear errors", async () => {
    const dst = await openImageLayout(join(dir, "bad-dst"));
    const staging = join(dir, "bad");
    await mkdir(join(staging, "blobs", "sha256"), { recursive: true });
    await writeFile(join(staging, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(staging, "index.json"), '{"schemaVersion":2,"manifests":[{"digest":"nope"}]}');
    const archive = join(dir, "bad.tar");
    execFileSync("tar", ["-C", staging, "-cf", archive, "."]);
    await assert.rejects(importOciArchive(archive, dst.store, dst.layout), /index\.json\.manifests\[0\]/);
    await writeFile(join(staging, "blobs", "sha256", "not-a-digest"), "x");
    execFileSync("tar", ["-C", staging, "-cf", archive, "."]);
    await assert.rejects(importOciArchive(archive, dst.store, dst.layout), (e) =>
      isPierError(e, "INVALID_ARCHIVE"),
    );
    const plain = join(dir, "plain.tar");
    execFileSync("tar", ["-C", join(staging, "blobs"), "-cf", plain, "."]);
    await assert.rejects(importOciArchive(plain, dst.store, dst.layout), /no oci-layout/);
    await assert.rejects(exportOciArchive(dst.store, dst.layout, ["absent"], join(dir, "x.tar")), (e) =>
      isPierError(e, "IMAGE_NOT_FOUND"),
    );
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.includes(".tmp")),
      [],
    );
  });
});
