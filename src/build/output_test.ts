import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type BuildFixture, buildFixture } from "../testing/build.js";
import { runCommand } from "../testing/engine.js";
import { BuildError } from "./error.js";
import { exportBuild, parseOutputs } from "./output.js";

let fx: BuildFixture;
before(async () => {
  fx = await buildFixture();
});
after(async () => {
  await fx?.close();
});

/** `skopeo inspect` of a transport, parsed (async: the test registry lives in this process). */
async function skopeoInspect(transport: string, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await runCommand("skopeo", ["inspect", ...args, transport]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const DF = (base: string) =>
  `FROM ${base}\nCOPY f.txt /srv/f.txt\nRUN echo built > /srv/run.txt\nCMD ["cat", "/srv/f.txt"]\n`;

describe("--output (BuildKit's exporters)", () => {
  it("parses BuildKit's syntax and refuses what it does not apply, by name", () => {
    assert.deepEqual(parseOutputs(["type=oci,dest=/x.tar", "out"], ["demo:1"]).outputs, [
      { type: "oci", dest: "/x.tar", tar: true, names: ["demo:1"] },
      { type: "local", dest: "out" },
    ]);
    assert.deepEqual(parseOutputs(["type=image,name=a:1;b:2,push=true,compression=zstd"], []), {
      outputs: [{ type: "registry", names: ["a:1", "b:2"] }],
      compression: "zstd",
    });
    const refused = (v: string, re: RegExp) =>
      assert.throws(
        () => parseOutputs([v], []),
        (e: unknown) => e instanceof BuildError && re.test(e.message),
        v,
      );
    refused("type=tar,dest=x", /type=tar: pier exports/);
    refused("type=oci,dest=x,unpack=true", /option unpack is not supported/);
    refused("type=docker,dest=x.tar", /needs an image name/);
    refused("type=registry", /needs an image name/);
    refused("type=oci", /needs dest=/);
    refused("type=oci,dest=x,compression=lz4", /compression=lz4/);
    refused("type=oci,dest=-", /dest=-/);
    refused("dest=x", /has no type=/);
  });

  it("writes an OCI archive, an OCI layout, a docker-archive and the files; pushes to a registry", async () => {
    const r = await fx.build(DF(fx.busybox), { "f.txt": "hello" }, { compression: "zstd" });
    const out = join(fx.work, "outputs");
    await mkdir(out);
    const host = new URL(fx.registry.registry.url).host;
    const spec = parseOutputs(
      [
        `type=oci,dest=${out}/img.tar`,
        `type=oci,tar=false,dest=${out}/layout`,
        `type=docker,dest=${out}/docker.tar`,
        `type=local,dest=${out}/rootfs`,
        "type=registry",
      ],
      [`${host}/built:1`],
    );
    const lines: string[] = [];
    await exportBuild(spec.outputs, {
      store: fx.store,
      manifest: r.manifest.digest,
      remote: { insecure: true },
      progress: (l) => lines.push(l),
    });
    assert.equal(lines.length, 5);
    // The OCI forms keep the manifest (and so the digest) as built, zstd layers included.
    for (const t of [`oci-archive:${out}/img.tar`, `oci:${out}/layout`, `docker://${host}/built:1`]) {
      const raw = (await skopeoInspect(t, "--tls-verify=false", "--raw")) as {
        layers: { mediaType: string }[];
      };
      assert.equal(raw.layers.at(-1)!.mediaType, "application/vnd.oci.image.layer.v1.tar+zstd", t);
      assert.equal((await skopeoInspect(t, "--tls-verify=false")).Digest, r.manifest.digest, t);
    }
    // The docker archive: what `docker load` reads (RepoTags, docker media types), config intact.
    const manifestJson = spawnSync("tar", ["-xOf", `${out}/docker.tar`, "manifest.json"], {
      encoding: "utf8",
    });
    assert.deepEqual(JSON.parse(manifestJson.stdout)[0].RepoTags, [`${host}/built:1`]);
    const cfg = (await skopeoInspect(`docker-archive:${out}/docker.tar`, "--config")) as {
      config: { Cmd: string[] };
    };
    assert.deepEqual(cfg.config.Cmd, ["cat", "/srv/f.txt"]);
    // The local export: the final stage's files, owners and contents.
    assert.equal(await readFile(join(out, "rootfs/srv/f.txt"), "utf8"), "hello");
    assert.equal(await readFile(join(out, "rootfs/srv/run.txt"), "utf8"), "built\n");
    assert.equal((await stat(join(out, "rootfs/bin/busybox"))).uid, 0);
    // A local dest that holds files is refused, nothing written.
    await writeFile(join(out, "taken"), "x");
    await assert.rejects(
      exportBuild([{ type: "local", dest: out }], { store: fx.store, manifest: r.manifest.digest }),
      /not empty/,
    );
  });
});
