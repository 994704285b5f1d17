import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { requireTool } from "../testing/tools.js";
import { snapshotTree } from "../testing/tree-snapshot.js";
import { appendLayer, createImage } from "./build.js";
import { ImageStore } from "./image-store.js";
import { unpackImage } from "./unpack.js";

describe("image unpack to a runtime bundle", () => {
  let tmp: string;
  let store: ImageStore;

  before(async () => {
    tmp = await makeTempDir();
    store = await ImageStore.open(join(tmp, "store"));
    const rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
    await createImage(store, rootfs, "bb:1", {
      cmd: ["sh", "-c", "echo hello from $GREETING; id -u; id -G; pwd"],
    });
    // A second layer with a whiteout-producing change and a hard link, made by GNU tar.
    const layer2 = join(tmp, "l2");
    execFileSync("sh", [
      "-c",
      `mkdir -p ${layer2}/etc ${layer2}/home/user && echo motd > ${layer2}/etc/motd && ln ${layer2}/etc/motd ${layer2}/etc/motd.link && touch ${layer2}/home/user/.wh.gone`,
    ]);
    execFileSync("tar", ["-C", layer2, "--owner=0", "--group=0", "-cf", join(tmp, "l2.tar"), "."]);
    await appendLayer(
      store,
      "bb:1",
      { tar: join(tmp, "l2.tar") },
      {
        tag: "bb:2",
        env: ["GREETING=pier"],
        user: "user",
        workdir: "/home/user",
      },
    );
  });
  after(() => removeTempDir(tmp));

  it("makes a bundle that runc runs, with env, user (looked up in /etc/passwd), groups and cwd from the image", async () => {
    requireTool("/usr/bin/runc", "runc");
    const { bundle, spec } = await unpackImage(store, "bb:2", join(tmp, "bundle-runc"));
    assert.equal(spec.process?.user.uid, 1000);
    const id = `pier-unpack-${process.pid}`;
    const r = spawnSync("runc", ["--root", join(tmp, "runc-state"), "run", "--bundle", bundle, id], {
      encoding: "utf8",
    });
    spawnSync("runc", ["--root", join(tmp, "runc-state"), "delete", "-f", id]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines[0], "hello from pier");
    assert.equal(lines[1], "1000");
    assert.ok(lines[2]!.split(" ").includes("10"), `user is in group wheel (10): ${lines[2]}`);
    assert.equal(lines[3], "/home/user");
  });

  it("yields the same tree as umoci unpack (names, types, modes, owners, link targets, contents)", async () => {
    requireTool("/usr/bin/umoci", "umoci");
    const { rootfs } = await unpackImage(store, "bb:2", join(tmp, "bundle-pier"));
    const ubundle = join(tmp, "bundle-umoci");
    execFileSync("umoci", ["unpack", "--image", `${store.layoutDir}:docker.io/library/bb:2`, ubundle], {
      stdio: "pipe",
    });
    assert.deepEqual(snapshotTree(rootfs), snapshotTree(join(ubundle, "rootfs")));
    assert.ok(existsSync(join(rootfs, "etc/motd.link")));
  });

  it("unpacks an image that umoci built", async () => {
    requireTool("/usr/bin/umoci", "umoci");
    const layout = join(tmp, "umoci-layout");
    execFileSync("umoci", ["init", "--layout", layout]);
    execFileSync("umoci", ["new", "--image", `${layout}:base`]);
    const payload = join(tmp, "payload");
    execFileSync("sh", ["-c", `mkdir -p ${payload}/srv && echo from-umoci > ${payload}/srv/file`]);
    execFileSync("umoci", ["insert", "--image", `${layout}:base`, payload, "/"]);
    execFileSync("umoci", [
      "config",
      "--image",
      `${layout}:base`,
      "--config.cmd",
      "cat",
      "--config.cmd",
      "/srv/file",
      "--config.user",
      "0:0",
    ]);
    const other = await ImageStore.open(join(tmp, "umoci-as-store"));
    execFileSync("skopeo", [
      "copy",
      "-q",
      `oci:${layout}:base`,
      `oci:${other.layoutDir}:docker.io/library/fromumoci:latest`,
    ]);
    const { rootfs, spec } = await unpackImage(other, "fromumoci", join(tmp, "bundle-from-umoci"));
    assert.equal(await readFile(join(rootfs, "srv/file"), "utf8"), "from-umoci\n");
    assert.deepEqual(spec.process?.args, ["cat", "/srv/file"]);
  });

  it("leaves no bundle behind when a layer is corrupt", async () => {
    const img = await store.resolveImage("bb:1");
    const layerPath = store.content.blobPath(img.manifest.layers[0]!.digest);
    const saved = await readFile(layerPath);
    try {
      // Truncate the blob in place: the store's file now lies about its digest, as a damaged disk would.
      await writeFile(layerPath, saved.subarray(0, saved.length >> 1));
      const target = join(tmp, "bundle-corrupt");
      await assert.rejects(unpackImage(store, "bb:1", target));
      assert.equal(existsSync(target), false, "the bundle directory is removed again");
    } finally {
      await writeFile(layerPath, saved);
    }
  });

  it("refuses a non-empty bundle directory", async () => {
    const target = join(tmp, "bundle-busy");
    execFileSync("mkdir", ["-p", join(target, "x")]);
    await assert.rejects(unpackImage(store, "bb:1", target), /exists and is not empty/);
    assert.ok(existsSync(join(target, "x")));
  });
});
