import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { OciLayout } from "../../content/layout.js";
import { LocalContentStore } from "../../content/local-store.js";
import { isPierError } from "../../errors.js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { writeTinyImage } from "../../testing/tiny-image.js";
import { runTool } from "../../testing/umoci.js";
import { createArchiveStaging, stageArchive } from "./staging.js";

const skopeo = (...args: string[]) => runTool("skopeo", args);

describe("archive staging", () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir("pier-staging-");
  });
  after(async () => {
    await removeTempDir(dir);
  });

  test("a staged archive is a layout skopeo reads; a committed staging is an archive skopeo reads", async () => {
    const root = join(dir, "src");
    const store = await LocalContentStore.open(root);
    const image = await writeTinyImage(store, undefined, { compression: "gzip" });
    await (await OciLayout.open(root)).set("v1", image.manifest);
    const archive = join(dir, "in.tar");
    await skopeo("copy", "-q", `oci:${root}:v1`, `docker-archive:${archive}:localhost/app:v1`);
    const staged = await stageArchive(archive, { tmpDir: dir });
    assert.equal(staged.format, "docker");
    assert.deepEqual(
      staged.images.map((i) => i.name),
      ["localhost/app:v1"],
    );
    const inspect = JSON.parse(await skopeo("inspect", `oci:${staged.dir}:localhost/app:v1`));
    assert.deepEqual(inspect.Layers, image.diffIds);
    await staged.cleanup();
    assert.equal(existsSync(staged.dir), false);

    const out = join(dir, "out.tar");
    const staging = await createArchiveStaging("oci", out, dir);
    await skopeo("copy", "-q", `oci:${root}:v1`, `oci:${staging.dir}:v1`);
    await staging.commit(["v1"]);
    assert.equal(existsSync(staging.dir), false);
    assert.equal(JSON.parse(await skopeo("inspect", `oci-archive:${out}:v1`)).Digest, image.manifest.digest);

    await assert.rejects(stageArchive(join(dir, "missing.tar"), { tmpDir: dir }), /ENOENT/);
    const failing = await createArchiveStaging("docker", join(dir, "never.tar"), dir);
    await assert.rejects(failing.commit(["absent"]), (e) => isPierError(e, "IMAGE_NOT_FOUND"));
    assert.equal(existsSync(join(dir, "never.tar")), false);
    assert.equal(existsSync(failing.dir), false);
  });
});
