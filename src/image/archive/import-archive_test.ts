import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isPierError } from "../../errors.js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { openImageLayout, writeTinyImage } from "../../testing/tiny-image.js";
import { runTool } from "../../testing/umoci.js";
import { importArchive } from "./import-archive.js";
import { exportOciArchive } from "./oci-archive.js";

describe("importArchive", () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir("pier-importarchive-");
  });
  after(async () => {
    await removeTempDir(dir);
  });

  test("tells docker from OCI archives and names an unnamed image when asked", async () => {
    const src = await openImageLayout(join(dir, "src"));
    const image = await writeTinyImage(src.store);
    await src.layout.set("v1", image.manifest);
    const oci = join(dir, "oci.tar");
    await exportOciArchive(src.store, src.layout, ["v1"], oci);
    const docker = join(dir, "docker.tar");
    await runTool("skopeo", ["copy", "-q", `oci:${src.store.root}:v1`, `docker-archive:${docker}`]);
    const dst = await openImageLayout(join(dir, "dst"));
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
