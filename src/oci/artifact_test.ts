import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  artifactTypeOf,
  buildArtifactManifest,
  EMPTY_DIGEST,
  EMPTY_JSON,
  emptyDescriptor,
  referrerDescriptor,
} from "./artifact.js";
import { digestOf } from "./digest.js";
import { OciError } from "./error.js";
import { MediaType } from "./media-types.js";
import { parseManifest } from "./validate.js";

const subject = { mediaType: MediaType.OciManifest, digest: digestOf("image"), size: 5 };

describe("empty descriptor", () => {
  it("describes the two bytes {} exactly", () => {
    assert.equal(Buffer.byteLength(EMPTY_JSON), 2);
    assert.equal(digestOf(EMPTY_JSON), EMPTY_DIGEST);
    const d = emptyDescriptor();
    assert.deepEqual(d, {
      mediaType: "application/vnd.oci.empty.v1+json",
      digest: EMPTY_DIGEST,
      size: 2,
      data: "e30=",
    });
    assert.equal(Buffer.from(d.data!, "base64").toString(), "{}");
    assert.notEqual(emptyDescriptor(), d, "a fresh object each call");
  });
});

describe("buildArtifactManifest", () => {
  it("builds a manifest with empty config and layer that validates", () => {
    const m = buildArtifactManifest({
      artifactType: "application/vnd.example.sig",
      subject,
      annotations: { a: "b" },
    });
    assert.deepEqual(m, {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: "application/vnd.example.sig",
      config: emptyDescriptor(),
      layers: [emptyDescriptor()],
      subject,
      annotations: { a: "b" },
    });
    assert.deepEqual(parseManifest(JSON.stringify(m)), m);
  });

  it("keeps given layers and config", () => {
    const layer = { mediaType: "application/spdx+json", digest: digestOf("sbom"), size: 4 };
    const config = { mediaType: "application/vnd.example.config+json", digest: digestOf("c"), size: 1 };
    const m = buildArtifactManifest({ layers: [layer], config });
    assert.deepEqual([m.layers, m.config, m.artifactType], [[layer], config, undefined]);
  });

  const bad: [string, Parameters<typeof buildArtifactManifest>[0], string][] = [
    ["no artifactType with empty config", {}, "artifactType: required"],
    ["bad artifactType", { artifactType: "sig" }, "artifactType: not a valid media type"],
    ["bad layer", { artifactType: "a/b", layers: [{ ...subject, size: -1 }] }, "layers[0].size"],
    [
      "bad subject",
      { artifactType: "a/b", subject: { ...subject, digest: "sha256:1" as never } },
      "subject.digest",
    ],
  ];
  for (const [name, input, fragment] of bad) {
    it(`refuses ${name}`, () =>
      assert.throws(
        () => buildArtifactManifest(input),
        (e: unknown) =>
          e instanceof OciError && e.code === "INVALID_DOCUMENT" && e.message.includes(fragment),
      ));
  }
});

describe("artifactTypeOf and referrerDescriptor", () => {
  it("prefers artifactType, else config.mediaType; an index has only its own", () => {
    const m = buildArtifactManifest({ artifactType: "application/vnd.example.sig" });
    assert.equal(artifactTypeOf(m), "application/vnd.example.sig");
    const { artifactType: _, ...plain } = m;
    assert.equal(
      artifactTypeOf({ ...plain, config: { ...subject, mediaType: MediaType.OciConfig } }),
      MediaType.OciConfig,
    );
    assert.equal(artifactTypeOf({ schemaVersion: 2, manifests: [] }), undefined);
    assert.equal(artifactTypeOf({ schemaVersion: 2, manifests: [], artifactType: "x/y" }), "x/y");
  });

  it("describes the exact bytes with artifactType and annotations", () => {
    const m = buildArtifactManifest({
      artifactType: "application/vnd.example.sig",
      subject,
      annotations: { k: "v" },
    });
    const raw = JSON.stringify(m);
    assert.deepEqual(referrerDescriptor(raw, m), {
      mediaType: MediaType.OciManifest,
      digest: digestOf(raw),
      size: Buffer.byteLength(raw),
      artifactType: "application/vnd.example.sig",
      annotations: { k: "v" },
    });
    const idx = { schemaVersion: 2 as const, manifests: [] };
    assert.equal(referrerDescriptor(Buffer.from("{}"), idx).mediaType, MediaType.OciIndex);
  });
});
