import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { digestOf } from "./digest.js";
import { OciError } from "./error.js";
import { MediaType } from "./media-types.js";
import {
  parseDescriptor,
  parseImageConfig,
  parseIndex,
  parseManifest,
  parseManifestOrIndex,
  parseOciLayout,
} from "./validate.js";

const D1 = digestOf("one");
const D2 = digestOf("two");

const layer = (over: Record<string, unknown> = {}) => ({
  mediaType: MediaType.OciLayerGzip,
  digest: D2,
  size: 3,
  ...over,
});
const manifest = (over: Record<string, unknown> = {}) => ({
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: { mediaType: MediaType.OciConfig, digest: D1, size: 3 },
  layers: [layer(), layer(), layer()],
  ...over,
});
const index = (over: Record<string, unknown> = {}) => ({
  schemaVersion: 2,
  mediaType: MediaType.OciIndex,
  manifests: [
    {
      mediaType: MediaType.OciManifest,
      digest: D1,
      size: 10,
      platform: { os: "linux", architecture: "amd64" },
    },
  ],
  ...over,
});
const config = (over: Record<string, unknown> = {}) => ({
  architecture: "amd64",
  os: "linux",
  rootfs: { type: "layers", diff_ids: [D1] },
  ...over,
});

/** Asserts `fn` throws an OciError with `code` whose message contains `fragment`. */
function throwsOci(fn: () => unknown, code: string, fragment: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof OciError, `expected OciError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.ok(
      err.message.includes(fragment),
      `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(fragment)}`,
    );
    return true;
  });
}

const j = (v: unknown) => JSON.stringify(v);

describe("parseManifest", () => {
  it("accepts a valid OCI manifest from bytes and from a string, keeping unknown fields", () => {
    const doc = manifest({ "x-unknown": { keep: true } });
    const fromBytes = parseManifest(Buffer.from(j(doc)));
    const fromString = parseManifest(j(doc));
    assert.deepEqual(fromBytes, doc);
    assert.deepEqual(fromString, doc);
  });

  it("accepts a Docker schema 2 manifest and a manifest without mediaType", () => {
    const docker = manifest({ mediaType: MediaType.DockerManifest });
    assert.equal(parseManifest(j(docker)).mediaType, MediaType.DockerManifest);
    const { mediaType: _, ...bare } = manifest();
    assert.equal(parseManifest(j(bare)).mediaType, undefined);
  });

  it("drops optional fields that are null, as Go's decoder does", () => {
    const m = parseManifest(j(manifest({ annotations: null, subject: null })));
    assert.equal("annotations" in m, false);
    assert.equal("subject" in m, false);
  });

  const bad: [string, unknown, string, string][] = [
    [
      "bad layer digest",
      manifest({ layers: [layer(), layer(), layer({ digest: "sha256 xyz" })] }),
      "INVALID_DOCUMENT",
      "manifest.layers[2].digest: not a valid digest",
    ],
    [
      "short hex digest",
      manifest({ layers: [layer({ digest: "sha256:abcd" })] }),
      "INVALID_DOCUMENT",
      "manifest.layers[0].digest: sha256 digest must be 64",
    ],
    [
      "unknown digest algorithm",
      manifest({ layers: [layer({ digest: `md5:${"a".repeat(32)}` })] }),
      "INVALID_DOCUMENT",
      'manifest.layers[0].digest: unsupported digest algorithm "md5"',
    ],
    [
      "negative size",
      manifest({ layers: [layer({ size: -1 })] }),
      "INVALID_DOCUMENT",
      "manifest.layers[0].size: must be a non-negative integer",
    ],
    [
      "fractional size",
      manifest({ layers: [layer({ size: 1.5 })] }),
      "INVALID_DOCUMENT",
      "manifest.layers[0].size: must be a non-negative integer",
    ],
    [
      "string size",
      manifest({ config: { mediaType: MediaType.OciConfig, digest: D1, size: "3" } }),
      "INVALID_DOCUMENT",
      "manifest.config.size: must be a non-negative integer",
    ],
    [
      "huge size",
      manifest({ layers: [layer({ size: 2 ** 60 })] }),
      "INVALID_DOCUMENT",
      "manifest.layers[0].size",
    ],
    [
      "schemaVersion 3",
      manifest({ schemaVersion: 3 }),
      "INVALID_DOCUMENT",
      "manifest.schemaVersion: must be 2",
    ],
    [
      "schemaVersion missing",
      manifest({ schemaVersion: undefined }),
      "INVALID_DOCUMENT",
      "manifest.schemaVersion: required field is missing",
    ],
    ["schema 1", manifest({ schemaVersion: 1 }), "UNSUPPORTED_MEDIA_TYPE", "Docker schema 1"],
    [
      "config missing",
      manifest({ config: undefined }),
      "INVALID_DOCUMENT",
      "manifest.config: required field is missing",
    ],
    ["config null", manifest({ config: null }), "INVALID_DOCUMENT", "manifest.config: must not be null"],
    ["layers not array", manifest({ layers: {} }), "INVALID_DOCUMENT", "manifest.layers: must be an array"],
    [
      "layer not object",
      manifest({ layers: ["x"] }),
      "INVALID_DOCUMENT",
      "manifest.layers[0]: must be an object",
    ],
    [
      "layer mediaType missing",
      manifest({ layers: [layer({ mediaType: undefined })] }),
      "INVALID_DOCUMENT",
      "manifest.layers[0].mediaType: required",
    ],
    [
      "layer mediaType bad grammar",
      manifest({ layers: [layer({ mediaType: "not a type" })] }),
      "INVALID_DOCUMENT",
      "manifest.layers[0].mediaType: not a valid media type",
    ],
    [
      "annotation value number",
      manifest({ annotations: { a: 1 } }),
      "INVALID_DOCUMENT",
      'manifest.annotations["a"]: must be a string',
    ],
    [
      "urls not URL",
      manifest({ layers: [layer({ urls: ["::nope"] })] }),
      "INVALID_DOCUMENT",
      "manifest.layers[0].urls[0]: not a valid URL",
    ],
    [
      "artifactType bad",
      manifest({ artifactType: "nope" }),
      "INVALID_DOCUMENT",
      "manifest.artifactType: not a valid media type",
    ],
    [
      "subject bad",
      manifest({ subject: { mediaType: MediaType.OciManifest, digest: D1 } }),
      "INVALID_DOCUMENT",
      "manifest.subject.size: required",
    ],
    [
      "index media type",
      manifest({ mediaType: MediaType.OciIndex }),
      "UNSUPPORTED_MEDIA_TYPE",
      "is an image index",
    ],
    [
      "docker list media type",
      manifest({ mediaType: MediaType.DockerManifestList }),
      "UNSUPPORTED_MEDIA_TYPE",
      "is an image index",
    ],
    [
      "index shape without mediaType",
      { schemaVersion: 2, manifests: [] },
      "UNSUPPORTED_MEDIA_TYPE",
      "is an image index",
    ],
    [
      "foreign media type",
      manifest({ mediaType: "application/vnd.example+json" }),
      "UNSUPPORTED_MEDIA_TYPE",
      "is not an image manifest media type",
    ],
    [
      "platform missing os",
      manifest({ layers: [layer({ platform: { architecture: "amd64" } })] }),
      "INVALID_DOCUMENT",
      "manifest.layers[0].platform.os: required",
    ],
    [
      "data wrong size",
      manifest({ layers: [layer({ data: Buffer.from("two!").toString("base64") })] }),
      "INVALID_DOCUMENT",
      "manifest.layers[0].data: decodes to 4 bytes but size is 3",
    ],
    [
      "data wrong digest",
      manifest({ layers: [layer({ data: Buffer.from("six").toString("base64") })] }),
      "INVALID_DOCUMENT",
      "manifest.layers[0].data: does not match digest",
    ],
    [
      "data not base64",
      manifest({ layers: [layer({ data: "@@@@" })] }),
      "INVALID_DOCUMENT",
      "manifest.layers[0].data: not valid base64",
    ],
  ];
  for (const [name, doc, code, fragment] of bad) {
    it(`refuses ${name}`, () => throwsOci(() => parseManifest(j(doc)), code, fragment));
  }

  it("accepts embedded data that matches size and digest", () => {
    const m = parseManifest(
      j(manifest({ layers: [layer({ data: Buffer.from("two").toString("base64") })] })),
    );
    assert.equal(m.layers[0]!.data, "dHdv");
  });

  const badJson: [string, JsonLike, string][] = [
    ["syntax error", "{", "manifest: not valid JSON"],
    ["array top level", "[]", "manifest: must be a JSON object"],
    ["null top level", "null", "manifest: must be a JSON object"],
    ["invalid UTF-8", Buffer.from([0x7b, 0xff, 0x7d]), "manifest: not valid UTF-8"],
    ["empty", "", "manifest: not valid JSON"],
  ];
  for (const [name, input, fragment] of badJson) {
    it(`refuses ${name} with INVALID_JSON`, () =>
      throwsOci(() => parseManifest(input), "INVALID_JSON", fragment));
  }

  it("does not let __proto__ in JSON change the prototype", () => {
    const m = parseManifest(`{"__proto__":{"polluted":1},${j(manifest()).slice(1)}`);
    assert.equal(Object.getPrototypeOf(m), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

type JsonLike = string | Uint8Array;

describe("parseIndex", () => {
  it("accepts an OCI index and a Docker manifest list, keeping unknown entry media types", () => {
    const doc = index();
    (doc.manifests as Record<string, unknown>[]).push({
      mediaType: "application/vnd.example.unknown+json",
      digest: D2,
      size: 1,
      platform: { os: "linux", architecture: "arm64", variant: "v8", "os.features": ["x"] } as never,
    });
    assert.deepEqual(parseIndex(j(doc)), doc);
    assert.equal(
      parseIndex(j(index({ mediaType: MediaType.DockerManifestList }))).mediaType,
      MediaType.DockerManifestList,
    );
    assert.deepEqual(parseIndex(j(index({ manifests: [] }))).manifests, []);
  });

  const bad: [string, unknown, string, string][] = [
    [
      "negative size",
      index({ manifests: [{ mediaType: MediaType.OciManifest, digest: D1, size: -5 }] }),
      "INVALID_DOCUMENT",
      "index.manifests[0].size: must be a non-negative integer",
    ],
    [
      "manifests missing",
      index({ manifests: undefined }),
      "INVALID_DOCUMENT",
      "index.manifests: required field is missing",
    ],
    [
      "platform arch missing",
      index({
        manifests: [{ mediaType: MediaType.OciManifest, digest: D1, size: 1, platform: { os: "linux" } }],
      }),
      "INVALID_DOCUMENT",
      "index.manifests[0].platform.architecture: required",
    ],
    [
      "platform features not strings",
      index({
        manifests: [
          {
            mediaType: MediaType.OciManifest,
            digest: D1,
            size: 1,
            platform: { os: "linux", architecture: "amd64", features: [1] },
          },
        ],
      }),
      "INVALID_DOCUMENT",
      "index.manifests[0].platform.features[0]: must be a string",
    ],
    [
      "manifest media type",
      index({ mediaType: MediaType.OciManifest }),
      "UNSUPPORTED_MEDIA_TYPE",
      "is an image manifest",
    ],
    ["manifest shape", manifest({ mediaType: undefined }), "UNSUPPORTED_MEDIA_TYPE", "is an image manifest"],
    [
      "foreign media type",
      index({ mediaType: "application/json" }),
      "UNSUPPORTED_MEDIA_TYPE",
      "is not an image index media type",
    ],
  ];
  for (const [name, doc, code, fragment] of bad) {
    it(`refuses ${name}`, () => throwsOci(() => parseIndex(j(doc)), code, fragment));
  }
});

describe("parseImageConfig", () => {
  it("accepts a Docker-style config with nulls and extra fields", () => {
    const doc = config({
      created: "2024-01-02T03:04:05.123456789Z",
      config: {
        Env: ["PATH=/bin"],
        Cmd: null,
        Entrypoint: ["/bin/sh"],
        Labels: null,
        ExposedPorts: { "80/tcp": {} },
      },
      container_config: { Hostname: "x" },
      docker_version: "24.0.0",
      history: [{ created: "2024-01-02T03:04:05+02:00", created_by: "/bin/sh", empty_layer: true }],
    });
    const c = parseImageConfig(j(doc));
    assert.equal(c.config?.Cmd, null);
    assert.equal("Labels" in c.config!, false);
    assert.equal(c.docker_version, "24.0.0");
    assert.deepEqual(c.rootfs.diff_ids, [D1]);
  });

  it("reads a Docker config without diff_ids (omitempty) as an empty list", () => {
    assert.deepEqual(parseImageConfig(j(config({ rootfs: { type: "layers" } }))).rootfs, {
      type: "layers",
      diff_ids: [],
    });
    assert.deepEqual(
      parseImageConfig(j(config({ rootfs: { type: "layers", diff_ids: null } }))).rootfs.diff_ids,
      [],
    );
  });

  const bad: [string, unknown, string][] = [
    ["rootfs missing", config({ rootfs: undefined }), "config.rootfs: required field is missing"],
    [
      "rootfs type",
      config({ rootfs: { type: "layer", diff_ids: [] } }),
      'config.rootfs.type: must be "layers"',
    ],
    ["diff_id", config({ rootfs: { type: "layers", diff_ids: ["sha256:00"] } }), "config.rootfs.diff_ids[0]"],
    [
      "architecture missing",
      config({ architecture: undefined }),
      "config.architecture: required field is missing",
    ],
    ["os number", config({ os: 7 }), "config.os: must be a string"],
    ["created not RFC 3339", config({ created: "yesterday" }), "config.created: not an RFC 3339 date-time"],
    ["Env not strings", config({ config: { Env: [1] } }), "config.config.Env[0]: must be a string"],
    ["Cmd not strings", config({ config: { Cmd: ["a", 1] } }), "config.config.Cmd[1]: must be a string"],
    [
      "Entrypoint string",
      config({ config: { Entrypoint: "/bin/sh" } }),
      "config.config.Entrypoint: must be an array",
    ],
    [
      "ExposedPorts value",
      config({ config: { ExposedPorts: { "80/tcp": 1 } } }),
      'config.config.ExposedPorts["80/tcp"]: must be an object',
    ],
    [
      "Labels value",
      config({ config: { Labels: { a: true } } }),
      'config.config.Labels["a"]: must be a string',
    ],
    [
      "history empty_layer",
      config({ history: [{ empty_layer: "yes" }] }),
      "config.history[0].empty_layer: must be a boolean",
    ],
  ];
  for (const [name, doc, fragment] of bad) {
    it(`refuses ${name}`, () => throwsOci(() => parseImageConfig(j(doc)), "INVALID_DOCUMENT", fragment));
  }
});

describe("parseDescriptor", () => {
  it("accepts a descriptor with artifactType and platform", () => {
    const d = {
      mediaType: MediaType.OciManifest,
      digest: D1,
      size: 7,
      artifactType: "application/vnd.example.sbom.v1",
    };
    assert.deepEqual(parseDescriptor(j(d)), d);
  });
  it("names the root as descriptor", () =>
    throwsOci(
      () => parseDescriptor(j({ mediaType: MediaType.OciManifest, size: 1 })),
      "INVALID_DOCUMENT",
      "descriptor.digest: required",
    ));
});

describe("parseOciLayout", () => {
  it("accepts 1.0.0", () =>
    assert.deepEqual(parseOciLayout('{"imageLayoutVersion":"1.0.0"}'), { imageLayoutVersion: "1.0.0" }));
  it("refuses a missing version", () =>
    throwsOci(() => parseOciLayout("{}"), "INVALID_DOCUMENT", "oci-layout.imageLayoutVersion: required"));
  it("refuses version 2", () =>
    throwsOci(
      () => parseOciLayout('{"imageLayoutVersion":"2.0.0"}'),
      "UNSUPPORTED_MEDIA_TYPE",
      "unsupported image layout version",
    ));
});

describe("parseManifestOrIndex", () => {
  it("decides by the document's mediaType", () => {
    assert.equal(parseManifestOrIndex(j(manifest())).kind, "manifest");
    assert.equal(parseManifestOrIndex(j(index())).kind, "index");
  });
  it("decides by the hint when the document has no mediaType, ignoring parameters", () => {
    const { mediaType: _, ...bare } = manifest();
    const r = parseManifestOrIndex(j(bare), `${MediaType.DockerManifest}; charset=utf-8`);
    assert.equal(r.kind, "manifest");
    assert.equal(r.mediaType, MediaType.DockerManifest);
  });
  it("infers from fields when neither says, reporting the OCI type", () => {
    const { mediaType: _m, ...bareManifest } = manifest();
    const { mediaType: _i, ...bareIndex } = index();
    assert.deepEqual(
      [
        parseManifestOrIndex(j(bareManifest), "application/json").mediaType,
        parseManifestOrIndex(j(bareIndex)).mediaType,
      ],
      [MediaType.OciManifest, MediaType.OciIndex],
    );
  });
  it("refuses a hint that contradicts the document", () =>
    throwsOci(
      () => parseManifestOrIndex(j(manifest()), MediaType.OciIndex),
      "UNSUPPORTED_MEDIA_TYPE",
      "contradicts",
    ));
  it("refuses a schema 1 manifest", () =>
    throwsOci(
      () =>
        parseManifestOrIndex(
          j({ schemaVersion: 1, name: "x" }),
          "application/vnd.docker.distribution.manifest.v1+prettyjws",
        ),
      "UNSUPPORTED_MEDIA_TYPE",
      "schema 1",
    ));
  it("refuses an unknown media type", () =>
    throwsOci(
      () => parseManifestOrIndex(j({ schemaVersion: 2 }), "application/vnd.example+json"),
      "UNSUPPORTED_MEDIA_TYPE",
      "neither",
    ));
  it("refuses a document that is neither", () =>
    throwsOci(() => parseManifestOrIndex(j({ schemaVersion: 2 })), "INVALID_DOCUMENT", "neither"));
  it("reports errors with the path of the kind it chose", () =>
    throwsOci(
      () =>
        parseManifestOrIndex(
          j(index({ manifests: [{ mediaType: MediaType.OciManifest, digest: D1, size: -1 }] })),
        ),
      "INVALID_DOCUMENT",
      "index.manifests[0].size: must be a non-negative integer",
    ));
});
