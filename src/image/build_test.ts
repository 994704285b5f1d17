import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { appendLayer, applyExecSettings, checkEnv, createImage } from "./build.js";
import { mergeEnv } from "./bundle-config.js";
import { ImageError } from "./error.js";
import { collectGarbage } from "./gc.js";
import { ImageStore } from "./image-store.js";
import { inspectImage } from "./inspect.js";
import { listImages } from "./list.js";

describe("image build", () => {
  let tmp: string;
  let store: ImageStore;
  let rootfs: string;

  before(async () => {
    tmp = await makeTempDir();
    store = await ImageStore.open(join(tmp, "store"));
    rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
  });
  after(() => removeTempDir(tmp));

  it("creates a one-layer image with the given exec settings, findable by name, digest and id prefix", async () => {
    const built = await createImage(store, rootfs, "busybox", {
      cmd: ["sh", "-c", "echo hi"],
      env: ["A=1"],
      workdir: "/tmp",
      labels: { "org.example": "x" },
      created: 1700000000,
    });
    assert.equal(built.name, "docker.io/library/busybox:latest");
    const info = await inspectImage(store, "busybox");
    assert.deepEqual(info.config.config?.Cmd, ["sh", "-c", "echo hi"]);
    assert.ok(info.config.config?.Env?.includes("A=1"));
    assert.equal(info.config.config?.WorkingDir, "/tmp");
    assert.equal(info.created, "2023-11-14T22:13:20.000Z");
    assert.equal(info.layers.length, 1);
    assert.equal(info.layers[0]!.diffId, built.layer.diffId);
    assert.equal((await store.find(built.manifest.digest)).descriptor.digest, built.manifest.digest);
    assert.equal((await store.find(built.manifest.digest.slice(7, 19))).name, built.name);
  });

  it("builds byte-identical images from the same tree and timestamp", async () => {
    const a = await createImage(store, rootfs, "repro:a", { created: 1, compression: "zstd" });
    const b = await createImage(store, rootfs, "repro:b", { created: 1, compression: "zstd" });
    assert.equal(a.manifest.digest, b.manifest.digest);
    assert.equal(a.layer.mediaType, "application/vnd.oci.image.layer.v1.tar+zstd");
  });

  it("appends a directory layer, keeping history and diff_ids in step", async () => {
    const extra = join(tmp, "extra");
    await mkdir(join(extra, "etc"), { recursive: true });
    await writeFile(join(extra, "etc/motd"), "hello from layer 2\n");
    const built = await appendLayer(
      store,
      "busybox",
      { dir: extra },
      { tag: "busybox:two", entrypoint: ["/bin/cat"] },
    );
    const info = await inspectImage(store, built.name);
    assert.equal(info.layers.length, 2);
    assert.equal(info.history.length, 2);
    assert.deepEqual(info.config.config?.Entrypoint, ["/bin/cat"]);
    assert.equal(info.config.config?.Cmd, undefined, "an entrypoint replaces an inherited cmd");
  });

  it("lists, tags, removes and collects garbage", async () => {
    await store.tag("busybox:two", "localhost:5000/bb:2");
    const names = (await listImages(store)).map((r) => r.name);
    assert.ok(names.includes("localhost:5000/bb:2"));
    const before = (await collectGarbage(store, { dryRun: true })).removed.length;
    assert.equal(before, 0, "every blob is reachable");
    await store.remove("busybox:two");
    await store.remove("localhost:5000/bb:2");
    // Blobs newer than the collection start are protected; these are older by now only if we wait.
    const dry = await collectGarbage(store, { dryRun: true });
    assert.ok(
      dry.removed.length + dry.keptAsNew >= 3,
      "the appended layer, config and manifest are unreachable",
    );
    await assert.rejects(
      store.find("busybox:two"),
      (e: unknown) => e instanceof ImageError && e.code === "IMAGE_NOT_FOUND",
    );
  });

  it("refuses bad settings with errors naming them", () => {
    assert.throws(() => checkEnv(["NOEQUALS"]), /env: "NOEQUALS" is not KEY=value/);
    assert.throws(() => applyExecSettings({}, { workdir: "rel" }), /workdir: must be absolute/);
    assert.deepEqual(mergeEnv(["A=1", "B=2"], ["A=3"]), ["A=3", "B=2"]);
  });
});
