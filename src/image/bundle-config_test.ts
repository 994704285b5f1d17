import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { digestOf } from "../oci/digest.js";
import { OciError } from "../oci/error.js";
import { defaultRuntimeSpec } from "../oci/runtime-spec/default-spec.js";
import type { ImageConfig, ImageExecConfig } from "../oci/types.js";
import {
  annotationsFromImage,
  argsFromImage,
  imageVolumes,
  mergeEnv,
  type RuntimeSpecBase,
  runtimeConfigFromImage,
} from "./bundle-config.js";

const image = (config: ImageExecConfig, over: Partial<ImageConfig> = {}): ImageConfig => ({
  architecture: "amd64",
  os: "linux",
  rootfs: { type: "layers", diff_ids: [digestOf("x")] },
  config,
  ...over,
});

const files = {
  passwd: "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33:www:/var/www:/bin/sh\n",
  group: "root:x:0:\nweb:x:33:\nlog:x:4:web\n",
};

describe("argsFromImage (conversion.md Entrypoint/Cmd)", () => {
  const table: [string, ImageExecConfig, string[] | undefined][] = [
    ["Entrypoint only", { Entrypoint: ["/bin/app", "-v"] }, ["/bin/app", "-v"]],
    ["Cmd only", { Cmd: ["sh", "-c", "echo hi"] }, ["sh", "-c", "echo hi"]],
    [
      "both: Cmd appended to Entrypoint",
      { Entrypoint: ["/bin/app"], Cmd: ["--port", "80"] },
      ["/bin/app", "--port", "80"],
    ],
    ["Entrypoint empty array, Cmd set", { Entrypoint: [], Cmd: ["sh"] }, ["sh"]],
    ["Entrypoint null, Cmd set", { Entrypoint: null, Cmd: ["sh"] }, ["sh"]],
    ["Entrypoint set, Cmd null", { Entrypoint: ["/init"], Cmd: null }, ["/init"]],
    ["neither", {}, undefined],
    ["both empty", { Entrypoint: [], Cmd: [] }, undefined],
    ["both null", { Entrypoint: null, Cmd: null }, undefined],
  ];
  for (const [name, cfg, expected] of table) {
    it(name, () => {
      if (expected) assert.deepEqual(argsFromImage(image(cfg)), expected);
      else {
        assert.throws(
          () => argsFromImage(image(cfg)),
          (e: unknown) =>
            e instanceof OciError &&
            e.code === "NO_COMMAND" &&
            e.message.includes("neither Entrypoint nor Cmd"),
        );
      }
    });
  }
  it("refuses a config without a config section", () =>
    assert.throws(
      () => argsFromImage(image({}, { config: undefined })),
      (e: unknown) => e instanceof OciError && e.code === "NO_COMMAND",
    ));
});

describe("mergeEnv", () => {
  it("replaces same-named defaults in place and appends new names", () => {
    assert.deepEqual(
      mergeEnv(["PATH=/bin", "TERM=xterm"], ["FOO=1", "PATH=/usr/bin:/bin", "FOO=2", "EMPTY="]),
      ["PATH=/usr/bin:/bin", "TERM=xterm", "FOO=2", "EMPTY="],
    );
  });
});

describe("annotationsFromImage", () => {
  it("sets every implicit annotation of conversion.md", () => {
    const cfg = image(
      { StopSignal: "SIGQUIT", ExposedPorts: { "8080/tcp": {}, "53/udp": {} } },
      {
        architecture: "arm64",
        variant: "v8",
        "os.version": "6.1",
        "os.features": ["a", "b"],
        author: "Ada",
        created: "2024-05-06T07:08:09Z",
      },
    );
    assert.deepEqual(annotationsFromImage(cfg), {
      "org.opencontainers.image.os": "linux",
      "org.opencontainers.image.architecture": "arm64",
      "org.opencontainers.image.variant": "v8",
      "org.opencontainers.image.os.version": "6.1",
      "org.opencontainers.image.os.features": "a,b",
      "org.opencontainers.image.author": "Ada",
      "org.opencontainers.image.created": "2024-05-06T07:08:09Z",
      "org.opencontainers.image.stopSignal": "SIGQUIT",
      "org.opencontainers.image.exposedPorts": "53/udp,8080/tcp",
    });
  });
  it("lets Config.Labels win over implicit annotations", () => {
    const a = annotationsFromImage(
      image({
        StopSignal: "SIGTERM",
        Labels: { "org.opencontainers.image.stopSignal": "SIGINT", "com.example.x": "y" },
      }),
    );
    assert.equal(a["org.opencontainers.image.stopSignal"], "SIGINT");
    assert.equal(a["com.example.x"], "y");
  });
  it("omits what the config lacks", () => {
    assert.deepEqual(annotationsFromImage(image({})), {
      "org.opencontainers.image.os": "linux",
      "org.opencontainers.image.architecture": "amd64",
    });
  });
});

describe("imageVolumes", () => {
  it("lists absolute, sorted destinations", () => {
    assert.deepEqual(imageVolumes(image({ Volumes: { "/var/lib/db": {}, "/data": {}, "rel/../x": {} } })), [
      "/data",
      "/var/lib/db",
      "/x",
    ]);
    assert.deepEqual(imageVolumes(image({})), []);
  });
});

describe("runtimeConfigFromImage", () => {
  it("converts a full config onto the default runc spec", () => {
    const base = defaultRuntimeSpec();
    const before = structuredClone(base);
    const spec = runtimeConfigFromImage(
      image({
        User: "web",
        Env: ["PATH=/opt/bin:/bin", "APP=1"],
        Entrypoint: ["/docker-entrypoint.sh"],
        Cmd: ["nginx", "-g", "daemon off;"],
        WorkingDir: "/srv/www",
        StopSignal: "SIGQUIT",
        Labels: { maintainer: "x" },
      }),
      base,
      files,
    );
    assert.deepEqual(base, before, "base is not modified");
    assert.deepEqual(spec.process?.args, ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]);
    assert.deepEqual(spec.process?.env, ["PATH=/opt/bin:/bin", "TERM=xterm", "APP=1", "HOME=/var/www"]);
    assert.equal(spec.process?.cwd, "/srv/www");
    assert.deepEqual(spec.process?.user, { uid: 33, gid: 33, additionalGids: [4] });
    assert.equal(spec.annotations?.["org.opencontainers.image.stopSignal"], "SIGQUIT");
    assert.equal(spec.annotations?.maintainer, "x");
    assert.deepEqual(spec.root, before.root, "the rest of the base is kept");
    assert.deepEqual(spec.mounts, before.mounts);
    assert.deepEqual(spec.process?.capabilities, before.process?.capabilities);
  });

  it("adds HOME from /etc/passwd only when the image does not set it and the user has an entry", () => {
    const env = (cfg: ImageExecConfig) =>
      runtimeConfigFromImage(image(cfg), defaultRuntimeSpec(), files).process?.env;
    assert.ok(env({ Cmd: ["sh"], User: "web", Env: ["HOME=/custom"] })?.includes("HOME=/custom"));
    assert.equal(
      env({ Cmd: ["sh"], User: "web", Env: ["HOME=/custom"] })?.filter((e) => e.startsWith("HOME=")).length,
      1,
    );
    assert.equal(
      env({ Cmd: ["sh"], User: "4242" })?.some((e) => e.startsWith("HOME=")),
      false,
    );
    assert.ok(env({ Cmd: ["sh"] })?.includes("HOME=/root"));
  });

  it("defaults cwd to / and makes a relative WorkingDir absolute", () => {
    assert.equal(
      runtimeConfigFromImage(image({ Cmd: ["sh"] }), defaultRuntimeSpec(), files).process?.cwd,
      "/",
    );
    assert.equal(
      runtimeConfigFromImage(image({ Cmd: ["sh"], WorkingDir: "app/../srv" }), defaultRuntimeSpec()).process
        ?.cwd,
      "/srv",
    );
  });

  it("uses root with its groups when Config.User is unset, and drops stale additionalGids", () => {
    const base = defaultRuntimeSpec();
    base.process!.user.additionalGids = [99];
    const spec = runtimeConfigFromImage(image({ Cmd: ["sh"] }), base, {
      passwd: files.passwd,
      group: "root:x:0:\n",
    });
    assert.deepEqual(spec.process?.user, { uid: 0, gid: 0 });
  });

  it("works on a minimal base without process", () => {
    const spec = runtimeConfigFromImage<RuntimeSpecBase>(image({ Cmd: ["sh"], User: "1:2" }), {});
    assert.deepEqual(spec.process, { args: ["sh"], env: [], cwd: "/", user: { uid: 1, gid: 2 } });
  });

  for (const bad of ["NOVALUE", "=x"]) {
    it(`fails naming an Env entry ${JSON.stringify(bad)} without a name or =`, () =>
      assert.throws(
        () => runtimeConfigFromImage(image({ Cmd: ["sh"], Env: ["A=1", bad] }), defaultRuntimeSpec(), files),
        (e: unknown) =>
          e instanceof OciError &&
          e.code === "INVALID_DOCUMENT" &&
          e.message.includes(`config.config.Env[1]: must be NAME=value`),
      ));
  }

  it("fails naming a user the image does not have", () => {
    assert.throws(
      () => runtimeConfigFromImage(image({ Cmd: ["sh"], User: "postgres" }), defaultRuntimeSpec(), files),
      (e: unknown) =>
        e instanceof OciError && e.code === "USER_NOT_FOUND" && e.message.includes('"postgres"'),
    );
  });
});
