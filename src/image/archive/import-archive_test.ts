import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { OciLayout } from "../../content/layout.js";
import { LocalContentStore } from "../../content/local-store.js";
import { isPierError } from "../../errors.js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { writeTinyImage } from "../../testing/tiny-image.js";
import { importArchive } from "./import-archive.js";
import { exportOciArchive } from "./oci-archive.js";

async function open(root: string) {
  return { store: await LocalContentStore.open(root), layout: await OciLayout.open(root) };
}

describe("importArchive", () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir("pier-importarchive-");
  });
  after(async () => {
    await removeTempDir(dir);
  });

  test("tells docker from OCI archives and names an unnamed image when asked", async () => {
    const src = await open(join(dir, "src"));
    const image = await writeTinyImage(src.store);
    await src.layout.set("v1", image.manifest);
    const oci = join(dir, "oci.tar");
    await exportOciArchive(src.store, src.layout, ["v1"], oci);
    const docker = join(dir, "docker.tar");
    try {
      execFileSync("skopeo", ["copy", "-q", `oci:${src.store.root}:v1`, `docker-archive:${docker}`], {
        stdio: "pipe",
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        throw new Error("skopeo is not installed: apt-get install -y skopeo");
      throw err;
    }
    const dst = await open(join(dir, "dst"));
    const fromOci = await importArchive(oci, dst.store, dst.layout);
    assert.equal(fromOci.format, "oci");
    assert.deepEqual(
      fromOci.images.map((i) => i.name),
      ["v1"],
    );
    const fromDocker = await importArchive(docker, dst.store, dst.layout, { name: "localhost/untagged:1" });
    assert.equal(fromDocker.format, "docker");
    assert.deepEqual(
      fromDocker.images.map((i) => i.name),
      ["localhost/untagged:1"],
    );
    assert.ok(await dst.layout.resolve("localhost/untagged:1"));
    const junk = join(dir, "junk.tar");
    await writeFile(join(dir, "readme"), "not an image");
    execFileSync("tar", ["-C", dir, "-cf", junk, "readme"]);
    await assert.rejects(importArchive(junk, dst.store, dst.layout), (e) =>
      isPierError(e, "INVALID_ARCHIVE"),
    );
  });
});
