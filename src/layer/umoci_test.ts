import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { OciLayout } from "../content/layout.js";
import { LocalContentStore } from "../content/local-store.js";
import { digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import type { Descriptor, ImageConfig, ImageManifest } from "../oci/types.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { streamOf, tarOf } from "../testing/layer-tar.js";
import { snapshotTree } from "../testing/tree-snapshot.js";
import { applyLayer } from "./apply.js";
import { diffDirectories } from "./diff.js";
import { packDirectory } from "./pack.js";
import { packToStore, type StoredLayer, storeLayer } from "./store-layer.js";

describe("interop with umoci: same rootfs from the same layers", () => {
  let work: string;
  let store: LocalContentStore;
  const layers: StoredLayer[] = [];

  before(async () => {
    if (!existsSync("/usr/bin/umoci")) throw new Error("/usr/bin/umoci is missing: apt-get install -y umoci");
    work = await makeTempDir("pier-layer-umoci-");
    store = await LocalContentStore.open(`${work}/layout`);
    // Layer 1: busybox plus every entry type, packed by pier, gzip.
    const base = `${work}/base`;
    await writeBusyboxRootfs(base);
    mkdirSync(`${base}/data/refill`, { recursive: true });
    writeFileSync(`${base}/data/refill/old`, "old");
    writeFileSync(`${base}/data/file`, "data\n");
    writeFileSync(`${base}/data/remove-me`, "bye\n");
    linkSync(`${base}/data/file`, `${base}/data/hard`);
    symlinkSync("../bin/busybox", `${base}/data/sym`);
    execFileSync("mknod", ["-m", "0666", `${base}/dev/null`, "c", "1", "3"]);
    execFileSync("mkfifo", [`${base}/data/fifo`]);
    layers.push(await packToStore(store, base, { compression: "gzip" }));
    // Layer 2: a diff with whiteouts, an opaque directory and a new hard link, zstd... umoci
    // 0.4.7 reads gzip and plain tar only, so gzip here too.
    execFileSync("cp", ["-a", base, `${work}/next`]);
    const next = `${work}/next`;
    execFileSync("rm", ["-rf", `${next}/data/remove-me`, `${next}/data/refill`, `${next}/home`]);
    mkdirSync(`${next}/data/refill`);
    writeFileSync(`${next}/data/refill/new`, "new");
    linkSync(`${next}/data/file`, `${next}/data/hard2`);
    writeFileSync(`${next}/etc/motd`, "hello\n");
    layers.push(await storeLayer(store, await diffDirectories(base, next), { compression: "gzip" }));
    // Layer 3: hand-made, uncompressed: replacements of every kind.
    const tar = tarOf([
      { name: "bin/ls", body: "not a symlink any more", mode: 0o755 },
      { name: "data/file", type: "dir", mode: 0o750 },
      { name: "data/file/inside", body: "x" },
      { name: "data/sym", type: "symlink", linkname: "/etc/motd" },
      { name: "data/.wh.fifo" },
      { name: "etc", type: "dir", mode: 0o755 },
      { name: "etc/link-to-lower", type: "link", linkname: "etc/passwd" },
    ]);
    layers.push(await storeLayer(store, streamOf(tar), { compression: "none" }));

    const configDoc: ImageConfig = {
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["/bin/sh"] },
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    };
    const config: Descriptor = {
      mediaType: MediaType.OciConfig,
      ...(await store.ingest(JSON.stringify(configDoc))),
    };
    const manifestDoc: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config,
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    };
    const manifest: Descriptor = {
      mediaType: MediaType.OciManifest,
      ...(await store.ingest(JSON.stringify(manifestDoc))),
    };
    await (await OciLayout.open(`${work}/layout`)).set("t", manifest);
  });
  after(async () => {
    await removeTempDir(work);
  });

  it("stores layers with the right digests and media types", async () => {
    assert.equal(layers[0]?.mediaType, MediaType.OciLayerGzip);
    assert.equal(layers[2]?.mediaType, MediaType.OciLayer);
    for (const l of layers) assert.deepEqual(await store.info(l.digest), { digest: l.digest, size: l.size });
    const plain = await store.readBytes(layers[2]?.digest as StoredLayer["digest"], 1 << 20);
    assert.equal(digestOf(plain), layers[2]?.diffId);
    const repacked = await packToStore(store, `${work}/base`, { compression: "gzip" });
    assert.equal(repacked.digest, layers[0]?.digest, "packing the same tree again gives the same blob");
  });

  it("umoci unpack and pier apply give the same rootfs", async () => {
    execFileSync("umoci", ["unpack", "--image", `${work}/layout:t`, `${work}/bundle`], { stdio: "pipe" });
    const pier = `${work}/pier-rootfs`;
    mkdirSync(pier);
    for (const l of layers) {
      await applyLayer(pier, await store.read(l.digest), {
        mediaType: l.mediaType,
        expectedDiffId: l.diffId,
      });
    }
    const theirs = snapshotTree(`${work}/bundle/rootfs`);
    const ours = snapshotTree(pier);
    assert.deepEqual(ours, theirs);
    assert.ok(ours.some((l) => l.startsWith("data/refill/new ")));
    assert.ok(!ours.some((l) => l.startsWith("data/refill/old ")));
    assert.ok(ours.some((l) => l.startsWith("data/hard2 file") && l.includes("nlink=2")));
  });

  it("the pier packDirectory of umoci's rootfs is what pier applies back", async () => {
    const dst = `${work}/reapplied`;
    mkdirSync(dst);
    await applyLayer(dst, await packDirectory(`${work}/bundle/rootfs`));
    assert.deepEqual(snapshotTree(dst), snapshotTree(`${work}/bundle/rootfs`));
  });
});
