import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { digestOf } from "./digest.js";
import {
  dockerConfigToOci,
  dockerIndexToOci,
  dockerManifestToOci,
  ociConfigToDocker,
  ociIndexToDocker,
  ociManifestToDocker,
} from "./docker.js";
import { OciError } from "./error.js";
import { MediaType } from "./media-types.js";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from "./types.js";
import { parseIndex, parseManifest } from "./validate.js";

const desc = (mediaType: string, name: string, extra: Partial<Descriptor> = {}): Descriptor => ({
  mediaType,
  digest: digestOf(name),
  size: name.length,
  ...extra,
});

const dockerManifest: ImageManifest = {
  schemaVersion: 2,
  mediaType: MediaType.DockerManifest,
  config: desc(MediaType.DockerConfig, "config"),
  layers: [
    desc(MediaType.DockerLayerGzip, "l1"),
    desc(MediaType.DockerLayer, "l2"),
    desc(MediaType.DockerLayerForeignGzip, "l3", { urls: ["https://example.com/l3"] }),
  ],
};

const ociManifest: ImageManifest = {
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: desc(MediaType.OciConfig, "config"),
  layers: [
    desc(MediaType.OciLayerGzip, "l1"),
    desc(MediaType.OciLayer, "l2"),
    desc(MediaType.OciLayerNondistributableGzip, "l3", { urls: ["https://example.com/l3"] }),
  ],
};

function refuses(fn: () => unknown, fragment: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OciError);
    assert.equal(e.code, "UNSUPPORTED_CONVERSION");
    assert.ok(e.message.includes(fragment), e.message);
    return true;
  });
}

describe("manifests", () => {
  it("maps Docker to OCI media types, keeping digests and sizes", () => {
    assert.deepEqual(dockerManifestToOci(dockerManifest), ociManifest);
  });
  it("round-trips Docker -> OCI -> Docker and OCI -> Docker -> OCI", () => {
    assert.deepEqual(ociManifestToDocker(dockerManifestToOci(dockerManifest)), dockerManifest);
    assert.deepEqual(dockerManifestToOci(ociManifestToDocker(ociManifest)), ociManifest);
  });
  it("produces documents the validator accepts", () => {
    assert.deepEqual(parseManifest(JSON.stringify(ociManifestToDocker(ociManifest))), dockerManifest);
  });
  it("keeps OCI layer types buildkit writes into Docker manifests", () => {
    const m = { ...dockerManifest, layers: [desc(MediaType.OciLayerZstd, "z")] };
    assert.equal(dockerManifestToOci(m).layers[0]!.mediaType, MediaType.OciLayerZstd);
  });
  it("drops what Docker cannot carry: annotations and data", () => {
    const m = {
      ...ociManifest,
      annotations: { a: "b" },
      layers: [
        desc(MediaType.OciLayerGzip, "l1", {
          data: Buffer.from("l1").toString("base64"),
          annotations: { k: "v" },
        }),
      ],
    };
    const d = ociManifestToDocker(m);
    assert.equal("annotations" in d, false);
    assert.deepEqual(d.layers[0], desc(MediaType.DockerLayerGzip, "l1", { annotations: { k: "v" } }));
  });

  const badToDocker: [string, ImageManifest, string][] = [
    [
      "zstd layer",
      { ...ociManifest, layers: [ociManifest.layers[0]!, desc(MediaType.OciLayerZstd, "z")] },
      "manifest.layers[1].mediaType: zstd-compressed layers have no Docker",
    ],
    [
      "non-distributable zstd layer",
      { ...ociManifest, layers: [desc(MediaType.OciLayerNondistributableZstd, "z")] },
      "zstd",
    ],
    [
      "uncompressed non-distributable layer",
      { ...ociManifest, layers: [desc(MediaType.OciLayerNondistributable, "n")] },
      "has no Docker equivalent",
    ],
    [
      "unknown layer",
      { ...ociManifest, layers: [desc("application/vnd.example", "x")] },
      "manifest.layers[0].mediaType",
    ],
    ["artifactType", { ...ociManifest, artifactType: "application/vnd.example" }, "manifest.artifactType"],
    ["subject", { ...ociManifest, subject: desc(MediaType.OciManifest, "s") }, "manifest.subject"],
    [
      "artifact config",
      { ...ociManifest, config: desc(MediaType.OciEmpty, "{}") },
      "manifest.config.mediaType",
    ],
    ["Docker input", dockerManifest, "manifest.mediaType: expected"],
  ];
  for (const [name, m, fragment] of badToDocker)
    it(`OCI -> Docker refuses ${name}`, () => refuses(() => ociManifestToDocker(m), fragment));

  const badToOci: [string, ImageManifest, string][] = [
    ["OCI input", ociManifest, "manifest.mediaType: expected"],
    [
      "plugin config",
      { ...dockerManifest, config: desc(MediaType.DockerPluginConfig, "p") },
      "manifest.config.mediaType",
    ],
    [
      "unknown layer",
      { ...dockerManifest, layers: [desc("application/x-tar", "t")] },
      "manifest.layers[0].mediaType",
    ],
  ];
  for (const [name, m, fragment] of badToOci)
    it(`Docker -> OCI refuses ${name}`, () => refuses(() => dockerManifestToOci(m), fragment));
});

describe("indexes", () => {
  const amd = { os: "linux", architecture: "amd64" };
  const arm = { os: "linux", architecture: "arm64", variant: "v8" };
  const dockerList: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifestList,
    manifests: [
      desc(MediaType.DockerManifest, "a", { platform: amd }),
      desc(MediaType.DockerManifest, "b", { platform: arm }),
    ],
  };
  const ociIndex: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [
      desc(MediaType.OciManifest, "a", { platform: amd }),
      desc(MediaType.OciManifest, "b", { platform: arm }),
    ],
  };
  it("round-trips both ways", () => {
    assert.deepEqual(dockerIndexToOci(dockerList), ociIndex);
    assert.deepEqual(ociIndexToDocker(ociIndex), dockerList);
    assert.deepEqual(parseIndex(JSON.stringify(ociIndexToDocker(dockerIndexToOci(dockerList)))), dockerList);
  });
  it("refuses what a Docker list cannot hold", () => {
    refuses(
      () => ociIndexToDocker({ ...ociIndex, manifests: [desc(MediaType.OciIndex, "n", { platform: amd })] }),
      "index.manifests[0].mediaType",
    );
    refuses(
      () => ociIndexToDocker({ ...ociIndex, manifests: [desc(MediaType.OciManifest, "n")] }),
      "index.manifests[0].platform",
    );
    refuses(
      () => ociIndexToDocker({ ...ociIndex, subject: desc(MediaType.OciManifest, "s") }),
      "index.subject",
    );
    refuses(() => ociIndexToDocker(dockerList), "index.mediaType");
    refuses(() => dockerIndexToOci(ociIndex), "index.mediaType");
    refuses(
      () => dockerIndexToOci({ ...dockerList, manifests: [desc("application/x", "x")] }),
      "index.manifests[0].mediaType",
    );
  });
});

describe("configs", () => {
  const docker: ImageConfig = {
    architecture: "amd64",
    os: "linux",
    created: "2024-01-01T00:00:00Z",
    config: { Env: ["A=1"], Cmd: ["sh"], OnBuild: null, Hostname: "h" } as ImageConfig["config"],
    container_config: { Cmd: ["x"] },
    docker_version: "24",
    rootfs: { type: "layers", diff_ids: [digestOf("x")] },
    history: [{ created_by: "x" }],
  };
  it("reduces a Docker config to OCI fields", () => {
    assert.deepEqual(dockerConfigToOci(docker), {
      architecture: "amd64",
      os: "linux",
      created: "2024-01-01T00:00:00Z",
      config: { Env: ["A=1"], Cmd: ["sh"] },
      rootfs: { type: "layers", diff_ids: [digestOf("x")] },
      history: [{ created_by: "x" }],
    });
  });
  it("copies an OCI config unchanged and deeply", () => {
    const oci = dockerConfigToOci(docker);
    const back = ociConfigToDocker(oci);
    assert.deepEqual(back, oci);
    back.config!.Env!.push("B=2");
    assert.deepEqual(oci.config!.Env, ["A=1"]);
  });
});
