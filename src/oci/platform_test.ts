import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { digestOf } from "./digest.js";
import { OciError } from "./error.js";
import { MediaType } from "./media-types.js";
import {
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  platformMatches,
  platformRank,
  selectManifest,
} from "./platform.js";
import type { Descriptor, ImageIndex, Platform } from "./types.js";

describe("parsePlatform and formatPlatform", () => {
  // [input, normalised formatted form]
  const table: [string, string][] = [
    ["linux/amd64", "linux/amd64"],
    ["linux/x86_64", "linux/amd64"],
    ["linux/x86-64", "linux/amd64"],
    ["linux/amd64/v1", "linux/amd64"],
    ["linux/amd64/v3", "linux/amd64/v3"],
    ["linux/aarch64", "linux/arm64/v8"],
    ["linux/arm64", "linux/arm64/v8"],
    ["linux/arm64/8", "linux/arm64/v8"],
    ["linux/arm64/v8", "linux/arm64/v8"],
    ["linux/armhf", "linux/arm/v7"],
    ["linux/armel", "linux/arm/v6"],
    ["linux/arm", "linux/arm/v7"],
    ["linux/arm/7", "linux/arm/v7"],
    ["linux/arm/v6", "linux/arm/v6"],
    ["linux/arm/5", "linux/arm/v5"],
    ["linux/i386", "linux/386"],
    ["Linux/AMD64", "linux/amd64"],
    ["macos/arm64", "darwin/arm64/v8"],
    ["linux/ppc64le", "linux/ppc64le"],
    ["linux/s390x", "linux/s390x"],
    ["linux/riscv64", "linux/riscv64"],
    ["windows(10.0.17763.5830)/amd64", "windows(10.0.17763.5830)/amd64"],
  ];
  for (const [input, formatted] of table) {
    it(`${input} -> ${formatted}`, () => assert.equal(formatPlatform(parsePlatform(input)), formatted));
  }

  it("gives a lone OS the host architecture and a lone architecture the host OS", () => {
    const host = hostPlatform();
    assert.equal(parsePlatform("linux").architecture, host.architecture);
    assert.deepEqual(parsePlatform("arm64"), { os: host.os, architecture: "arm64", variant: "v8" });
  });

  for (const bad of [
    "",
    "linux/",
    "/amd64",
    "linux/amd64/v8/extra",
    "linux/am d64",
    "lin$ux/amd64",
    "linux//v7",
  ]) {
    it(`refuses ${JSON.stringify(bad)}`, () =>
      assert.throws(
        () => parsePlatform(bad),
        (e: unknown) =>
          e instanceof OciError && e.code === "INVALID_PLATFORM" && e.message.includes(JSON.stringify(bad)),
      ));
  }
});

describe("hostPlatform", () => {
  it("is normalised and names this machine", () => {
    const host = hostPlatform();
    assert.equal(host.os, "linux");
    assert.deepEqual(normalizePlatform(host), host);
    const expected: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" };
    if (expected[process.arch]) assert.equal(host.architecture, expected[process.arch]);
  });
});

describe("platformRank", () => {
  const p = (s: string): Platform => parsePlatform(s);
  // [want, have, matches]
  const table: [string, Platform, boolean][] = [
    ["linux/amd64", { os: "linux", architecture: "amd64" }, true],
    ["linux/amd64", { os: "linux", architecture: "x86_64" }, true],
    ["linux/amd64", { os: "windows", architecture: "amd64" }, false],
    ["linux/amd64", { os: "linux", architecture: "arm64" }, false],
    ["linux/amd64", { os: "linux", architecture: "amd64", variant: "v3" }, false],
    ["linux/amd64/v3", { os: "linux", architecture: "amd64", variant: "v2" }, true],
    ["linux/amd64/v3", { os: "linux", architecture: "amd64" }, true],
    ["linux/arm64", { os: "linux", architecture: "arm64" }, true],
    ["linux/arm64", { os: "linux", architecture: "arm64", variant: "v8" }, true],
    ["linux/arm64", { os: "linux", architecture: "aarch64" }, true],
    ["linux/arm64/v9", { os: "linux", architecture: "arm64" }, true],
    ["linux/arm64", { os: "linux", architecture: "arm64", variant: "v9" }, false],
    ["linux/arm/v7", { os: "linux", architecture: "arm", variant: "v7" }, true],
    ["linux/arm/v7", { os: "linux", architecture: "arm", variant: "v6" }, true],
    ["linux/arm/v7", { os: "linux", architecture: "arm", variant: "v5" }, true],
    ["linux/arm/v7", { os: "linux", architecture: "arm" }, true],
    ["linux/arm/v6", { os: "linux", architecture: "arm", variant: "v7" }, false],
    ["linux/arm/v7", { os: "linux", architecture: "arm64" }, false],
    ["linux/386", { os: "linux", architecture: "i386" }, true],
  ];
  for (const [want, have, matches] of table) {
    it(`${want} ${matches ? "runs" : "does not run"} ${JSON.stringify(have)}`, () =>
      assert.equal(platformMatches(p(want), have), matches));
  }

  it("ranks the exact variant before older compatible ones", () => {
    const want = p("linux/arm/v7");
    const r = (variant: string) => platformRank(want, { os: "linux", architecture: "arm", variant });
    assert.ok(r("v7")! < r("v6")!);
    assert.ok(r("v6")! < r("v5")!);
  });

  it("matches os.version on major.minor.build and prefers entries that state it", () => {
    const want = p("windows(10.0.17763.1)/amd64");
    assert.equal(
      platformRank(want, { os: "windows", architecture: "amd64", "os.version": "10.0.17763.5830" }),
      0,
    );
    assert.equal(
      platformRank(want, { os: "windows", architecture: "amd64", "os.version": "10.0.20348.1" }),
      undefined,
    );
    assert.equal(platformRank(want, { os: "windows", architecture: "amd64" }), 1);
  });
});

describe("selectManifest", () => {
  const entry = (platform: Platform | undefined, name: string): Descriptor => ({
    mediaType: MediaType.OciManifest,
    digest: digestOf(name),
    size: 100,
    ...(platform ? { platform } : {}),
  });
  // A multi-arch index shaped like Docker Hub's busybox, with a buildx attestation entry.
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [
      entry({ os: "linux", architecture: "amd64" }, "amd64"),
      entry({ os: "linux", architecture: "arm", variant: "v5" }, "armv5"),
      entry({ os: "linux", architecture: "arm", variant: "v6" }, "armv6"),
      entry({ os: "linux", architecture: "arm", variant: "v7" }, "armv7"),
      entry({ os: "linux", architecture: "arm64", variant: "v8" }, "arm64"),
      entry({ os: "linux", architecture: "386" }, "386"),
      {
        ...entry({ os: "unknown", architecture: "unknown" }, "attestation"),
        annotations: { "vnd.docker.reference.type": "attestation-manifest" },
      },
      entry(undefined, "no-platform"),
      entry({ os: "linux", architecture: "amd64" }, "amd64-second"),
    ],
  };
  const pick = (want: string) => selectManifest(index, parsePlatform(want)).digest;

  it("picks the exact entry", () => {
    assert.equal(pick("linux/amd64"), digestOf("amd64"), "first of equals wins");
    assert.equal(pick("linux/arm/v7"), digestOf("armv7"));
    assert.equal(pick("linux/arm/v6"), digestOf("armv6"));
    assert.equal(pick("linux/aarch64"), digestOf("arm64"));
    assert.equal(pick("linux/i386"), digestOf("386"));
    assert.throws(() => pick("unknown/unknown"), /NO_MATCHING|no manifest/, "attestations are never picked");
  });

  it("falls back to a compatible variant as containerd does", () => {
    const noV7 = { manifests: index.manifests.filter((d) => d.digest !== digestOf("armv7")) };
    assert.equal(selectManifest(noV7, parsePlatform("linux/arm/v7")).digest, digestOf("armv6"));
    assert.equal(selectManifest(index, parsePlatform("linux/amd64/v3")).digest, digestOf("amd64"));
  });

  it("refuses with NO_MATCHING_PLATFORM listing what the index offers", () => {
    assert.throws(
      () => pick("linux/s390x"),
      (e: unknown) =>
        e instanceof OciError &&
        e.code === "NO_MATCHING_PLATFORM" &&
        e.message.includes("linux/s390x") &&
        !e.message.includes("unknown/unknown") &&
        e.message.includes(
          "linux/amd64, linux/arm/v5, linux/arm/v6, linux/arm/v7, linux/arm64/v8, linux/386",
        ),
    );
    assert.throws(
      () => selectManifest({ manifests: [] }, parsePlatform("linux/amd64")),
      /offers: no platform-specific manifests/,
    );
  });
});
