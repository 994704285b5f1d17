/**
 * Interop: `runtimeConfigFromImage` gives the same process (args, env, cwd, user) and the same
 * `org.opencontainers.image.*` annotations as `umoci unpack`, the image-spec maintainers' own
 * converter, for each Entrypoint/Cmd combination and User form.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { digestHex } from "../oci/digest.js";
import { defaultRuntimeSpec } from "../oci/runtime-spec/default-spec.js";
import { parseImageConfig, parseIndex, parseManifest } from "../oci/validate.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { runTool, writeUmociImage } from "../testing/umoci.js";
import { runtimeConfigFromImage } from "./bundle-config.js";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33:www:/var/www:/bin/sh\n";
const GROUP = "root:x:0:\nweb:x:33:\nlog:x:4:web\nadm:x:5:web,root\n";

// [tag, umoci config flags]
const CASES: [string, string[]][] = [
  [
    "both",
    ["--config.entrypoint", "/bin/app", "--config.cmd", "a", "--config.cmd", "b", "--config.user", "web"],
  ],
  ["entrypoint-only", ["--config.entrypoint", "/bin/app", "--config.user", "33:4"]],
  ["cmd-only", ["--config.cmd", "sh", "--config.user", "1234"]],
  ["user-group", ["--config.cmd", "sh", "--config.user", "web:adm", "--config.workingdir", "/srv"]],
  ["uid-group", ["--config.cmd", "sh", "--config.user", "33:log"]],
  ["root", ["--config.cmd", "sh", "--config.env", "HOME=/home/x", "--config.env", "PATH=/bin"]],
  [
    "annotations",
    [
      "--config.cmd",
      "sh",
      "--config.stopsignal",
      "SIGQUIT",
      "--config.exposedports",
      "80/tcp",
      "--config.label",
      "k=v",
    ],
  ],
];

interface Bundle {
  process: {
    args: string[];
    env: string[];
    cwd: string;
    user: { uid: number; gid: number; additionalGids?: number[] };
  };
  annotations?: Record<string, string>;
}

describe("runtimeConfigFromImage agrees with umoci unpack", () => {
  let dir = "";
  let layout = "";
  before(async () => {
    dir = await makeTempDir("pier-bundle-umoci-");
    layout = await writeUmociImage(dir, {
      files: { "etc/passwd": PASSWD, "etc/group": GROUP },
      config: ["--author", "Ada"],
    });
    for (const [tag, flags] of CASES)
      await runTool("umoci", ["config", "--image", `${layout}:t`, "--tag", tag, ...flags]);
  });
  after(async () => {
    if (dir) await removeTempDir(dir);
  });

  for (const [tag] of CASES) {
    it(tag, async () => {
      const bundle = join(dir, `bundle-${tag}`);
      await runTool("umoci", ["unpack", "--image", `${layout}:${tag}`, bundle]);
      const umoci = JSON.parse(await readFile(join(bundle, "config.json"), "utf8")) as Bundle;

      const index = parseIndex(await readFile(join(layout, "index.json")));
      const entry = index.manifests.find(
        (d) => d.annotations?.["org.opencontainers.image.ref.name"] === tag,
      )!;
      const blob = (digest: string) => readFile(join(layout, "blobs", "sha256", digestHex(digest)));
      const manifest = parseManifest(await blob(entry.digest));
      const config = parseImageConfig(await blob(manifest.config.digest));
      const files = {
        passwd: await readFile(join(bundle, "rootfs/etc/passwd"), "utf8"),
        group: await readFile(join(bundle, "rootfs/etc/group"), "utf8"),
      };
      const ours = runtimeConfigFromImage(config, defaultRuntimeSpec(), files);

      assert.deepEqual(ours.process?.args, umoci.process.args);
      if (tag === "root") {
        // umoci replaces the image's own HOME with the passwd home; conversion.md says a converter
        // SHOULD NOT change variables the image sets (Docker keeps them too), so pier keeps it.
        const noHome = (env: string[] | undefined) => env?.filter((e) => !e.startsWith("HOME="));
        assert.deepEqual(noHome(ours.process?.env), noHome(umoci.process.env));
        assert.ok(ours.process?.env?.includes("HOME=/home/x"));
      } else {
        assert.deepEqual(ours.process?.env, umoci.process.env);
      }
      assert.equal(ours.process?.cwd, umoci.process.cwd);
      assert.deepEqual(ours.process?.user, umoci.process.user);
      const oci = (a: Record<string, string> | undefined) =>
        Object.fromEntries(
          // umoci also writes empty strings for an absent StopSignal, ExposedPorts or author; pier omits them.
          Object.entries(a ?? {}).filter(
            ([k, v]) => v !== "" && !k.startsWith("org.opencontainers.image.ref"),
          ),
        );
      assert.deepEqual(oci(ours.annotations), oci(umoci.annotations));
    });
  }
});
