/**
 * Interop: pier's validators read what umoci and skopeo write, and pier's Docker <-> OCI
 * conversion gives the same manifests and configs as `skopeo copy --format`.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { runTool, writeUmociImage } from "../testing/umoci.js";
import { digestHex } from "./digest.js";
import { dockerConfigToOci, dockerManifestToOci, ociManifestToDocker } from "./docker.js";
import { MediaType } from "./media-types.js";
import type { Descriptor, ImageManifest } from "./types.js";
import { parseImageConfig, parseIndex, parseManifest, parseOciLayout } from "./validate.js";

describe("interop with umoci and skopeo", () => {
  let dir = "";
  let layout = "";
  before(async () => {
    dir = await makeTempDir("pier-oci-interop-");
    layout = await writeUmociImage(dir, {
      files: { "etc/hello": "hello\n" },
      config: ["--config.cmd", "sh", "--config.env", "A=1", "--config.label", "k=v", "--author", "Ada"],
    });
    await runTool("skopeo", [
      "copy",
      "--quiet",
      "--format",
      "v2s2",
      `oci:${layout}:t`,
      `dir:${join(dir, "docker")}`,
    ]);
    await runTool("skopeo", [
      "copy",
      "--quiet",
      "--format",
      "oci",
      `dir:${join(dir, "docker")}`,
      `oci:${join(dir, "back")}:t`,
    ]);
  });
  after(async () => {
    if (dir) await removeTempDir(dir);
  });

  const blob = (root: string, d: Descriptor) => readFile(join(root, "blobs", "sha256", digestHex(d.digest)));
  async function ociImage(root: string): Promise<{ manifest: ImageManifest; configBytes: Buffer }> {
    assert.deepEqual(parseOciLayout(await readFile(join(root, "oci-layout"))), {
      imageLayoutVersion: "1.0.0",
    });
    const index = parseIndex(await readFile(join(root, "index.json")));
    assert.equal(index.manifests.length, 1);
    const manifest = parseManifest(await blob(root, index.manifests[0]!));
    return { manifest, configBytes: await blob(root, manifest.config) };
  }

  it("validates umoci's layout, index, manifest and config", async () => {
    const { manifest, configBytes } = await ociImage(layout);
    assert.equal(manifest.layers[0]!.mediaType, MediaType.OciLayerGzip);
    const config = parseImageConfig(configBytes);
    assert.deepEqual(config.config?.Cmd, ["sh"]);
    assert.equal(config.author, "Ada");
    assert.equal(config.rootfs.diff_ids.length, manifest.layers.length);
  });

  it("converts OCI -> Docker exactly as skopeo --format v2s2 does", async () => {
    const { manifest } = await ociImage(layout);
    const skopeo = parseManifest(await readFile(join(dir, "docker", "manifest.json")));
    assert.equal(skopeo.mediaType, MediaType.DockerManifest);
    assert.deepEqual(ociManifestToDocker(manifest), skopeo);
  });

  it("converts Docker -> OCI as skopeo --format oci does (manifest and config)", async () => {
    const docker = parseManifest(await readFile(join(dir, "docker", "manifest.json")));
    const dockerConfig = parseImageConfig(
      await readFile(join(dir, "docker", digestHex(docker.config.digest))),
    );
    const { manifest: skopeoManifest, configBytes } = await ociImage(join(dir, "back"));
    const skopeoConfig = parseImageConfig(configBytes);
    assert.deepEqual(dockerConfigToOci(dockerConfig), skopeoConfig);
    // skopeo re-serialises the config, so its digest and size differ; everything else must agree.
    const ours = dockerManifestToOci(docker);
    assert.deepEqual(
      { ...ours, config: { ...ours.config, digest: "", size: 0 } },
      {
        ...skopeoManifest,
        config: { ...skopeoManifest.config, digest: "", size: 0 },
      },
    );
  });
});
