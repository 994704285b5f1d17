import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { describe, it } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { type Digest, digestOf } from "./digest.js";
import { OciError } from "./error.js";
import {
  descriptorOf,
  type Image,
  imageForPlatform,
  imageFromParts,
  indexFromParts,
  type Layer,
  layerByDiffId,
  layerByDigest,
  once,
} from "./image.js";
import { MediaType } from "./media-types.js";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from "./types.js";

/** An in-memory home of one image: blobs by digest, counting reads to prove laziness. */
function memoryImage(layerTexts: string[], tamper?: { config?: string; diffIds?: Digest[] }) {
  const blobs = new Map<string, Uint8Array>();
  const reads: string[] = [];
  const put = (bytes: Uint8Array, mediaType: string): Descriptor => {
    const d = descriptorOf(bytes, mediaType);
    blobs.set(d.digest, bytes);
    return d;
  };
  const layers = layerTexts.map((t) => put(gzipSync(Buffer.from(t)), MediaType.OciLayerGzip));
  const config: ImageConfig = {
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: tamper?.diffIds ?? layerTexts.map((t) => digestOf(t)) },
  };
  const configDesc = put(Buffer.from(JSON.stringify(config)), MediaType.OciConfig);
  if (tamper?.config !== undefined) blobs.set(configDesc.digest, Buffer.from(tamper.config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: configDesc,
    layers,
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const read = (d: Descriptor) => {
    reads.push(d.digest);
    return blobs.get(d.digest)!;
  };
  const image = imageFromParts({
    rawManifest: async () => {
      reads.push("manifest");
      return manifestBytes;
    },
    rawConfig: async (d) => read(d),
    layer: (descriptor, diffId): Layer => ({
      descriptor,
      diffId: async () => diffId,
      compressed: async () => Readable.from([read(descriptor)]),
      uncompressed: async () => Readable.from([gunzipSync(read(descriptor))]),
    }),
  });
  return { image, reads, manifestBytes, configDesc };
}

describe("imageFromParts", () => {
  it("reads nothing until asked, then each document once", async () => {
    const { image, reads, manifestBytes, configDesc } = memoryImage(["base", "top"]);
    assert.deepEqual(reads, []);
    assert.equal(await image.digest(), digestOf(manifestBytes));
    await image.manifest();
    await image.rawManifest();
    assert.deepEqual(reads, ["manifest"]);
    await image.config();
    await image.config();
    assert.deepEqual(reads, ["manifest", configDesc.digest]);
    assert.deepEqual(await image.descriptor(), descriptorOf(manifestBytes, MediaType.OciManifest));
  });

  it("pairs layers with diff ids and streams their contents", async () => {
    const { image } = memoryImage(["base", "top"]);
    const layers = await image.layers();
    assert.equal(layers.length, 2);
    assert.equal(await layers[1]!.diffId(), digestOf("top"));
    assert.equal(await text(await layers[1]!.uncompressed()), "top");
    assert.equal(
      (await layerByDiffId(image, digestOf("base")))?.descriptor.digest,
      layers[0]!.descriptor.digest,
    );
    assert.equal(await layerByDigest(image, layers[1]!.descriptor.digest), layers[1]);
    assert.equal(await layerByDiffId(image, digestOf("nope")), undefined);
  });

  it("refuses a config whose bytes do not match the manifest", async () => {
    const { image } = memoryImage(["base"], { config: "{}".padEnd(200) });
    await assert.rejects(image.config(), (e: unknown) => e instanceof OciError && e.code === "SIZE_MISMATCH");
    const { image: image2, configDesc } = memoryImage(["base"]);
    const same = JSON.stringify({
      architecture: "arm64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [digestOf("base")] },
    });
    const tampered = memoryImage(["base"], { config: same.padEnd(configDesc.size) });
    await assert.rejects(
      tampered.image.rawConfig(),
      (e: unknown) => e instanceof OciError && e.code === "DIGEST_MISMATCH",
    );
    assert.ok(await image2.rawConfig());
  });

  it("refuses a config whose diff_ids do not match the layers", async () => {
    const { image } = memoryImage(["a", "b"], { diffIds: [digestOf("a")] });
    await assert.rejects(
      image.layers(),
      (e: unknown) =>
        e instanceof OciError &&
        e.code === "INVALID_DOCUMENT" &&
        e.message.includes("has 1 entries but the manifest has 2"),
    );
  });
});

describe("indexFromParts", () => {
  it("opens only the images the index lists", async () => {
    const a = memoryImage(["a"]).image;
    const aDigest = await a.digest();
    const index: ImageIndex = {
      schemaVersion: 2,
      manifests: [{ ...(await a.descriptor()), platform: { os: "linux", architecture: "amd64" } }],
    };
    const raw = Buffer.from(JSON.stringify(index));
    const opened: Descriptor[] = [];
    const source = indexFromParts({
      rawIndex: async () => raw,
      image: async (d): Promise<Image> => {
        opened.push(d);
        return a;
      },
      childIndex: async () => assert.fail("no nested index"),
    });
    assert.equal((await source.descriptor()).mediaType, MediaType.OciIndex);
    assert.equal(await source.digest(), digestOf(raw));
    assert.equal(await source.image(aDigest), a);
    assert.equal(opened[0]!.platform?.architecture, "amd64");
    await assert.rejects(source.image(digestOf("other")), /index: has no entry sha256:/);
    assert.equal(await imageForPlatform(source, { os: "linux", architecture: "x86_64" }), a);
    await assert.rejects(
      imageForPlatform(source, { os: "linux", architecture: "riscv64" }),
      (e: unknown) =>
        e instanceof OciError && e.code === "NO_MATCHING_PLATFORM" && e.message.includes("linux/amd64"),
    );
    await assert.rejects(source.childIndex(digestOf("other")), (e: unknown) => e instanceof OciError);
  });
});

describe("once", () => {
  it("runs the function once and shares the promise, also a rejection", async () => {
    let n = 0;
    const f = once(async () => ++n);
    assert.deepEqual(await Promise.all([f(), f()]), [1, 1]);
    const g = once(async () => {
      n++;
      throw new Error("x");
    });
    await assert.rejects(g());
    await assert.rejects(g());
    assert.equal(n, 2);
  });
});
