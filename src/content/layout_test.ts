import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isPierError } from "../errors.js";
import { digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import type { Descriptor } from "../oci/types.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { writeTinyImage } from "../testing/tiny-image.js";
import { runTool } from "../testing/umoci.js";
import { REF_NAME_ANNOTATION } from "./index-refs.js";
import { OciLayout } from "./layout.js";
import { LocalContentStore } from "./local-store.js";
import { FileLock } from "./lock.js";

const LAYOUT_MODULE = new URL("./layout.js", import.meta.url).href;

function fakeManifest(n: number): Descriptor {
  return { mediaType: MediaType.OciManifest, digest: digestOf(`m${n}`), size: 100 + n };
}

describe("OciLayout", () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir("pier-layout-");
  });
  after(async () => {
    await removeTempDir(dir);
  });

  test("names are set, listed, resolved, replaced and removed", async () => {
    const layout = await OciLayout.open(join(dir, "names"));
    assert.deepEqual(await layout.list(), []);
    await layout.set("v1", fakeManifest(1));
    await layout.set("v2", { ...fakeManifest(2), annotations: { keep: "me" } });
    await layout.set("v1", fakeManifest(3));
    const names = await layout.list();
    assert.deepEqual(
      names.map((n) => [n.name, n.descriptor.digest]),
      [
        ["v1", digestOf("m3")],
        ["v2", digestOf("m2")],
      ],
    );
    assert.deepEqual((await layout.resolve("v2"))?.annotations, { keep: "me", [REF_NAME_ANNOTATION]: "v2" });
    assert.equal(await layout.resolve("nope"), undefined);
    assert.equal(await layout.remove("v1"), true);
    assert.equal(await layout.remove("v1"), false);
    assert.deepEqual(
      (await layout.list()).map((n) => n.name),
      ["v2"],
    );
    await assert.rejects(layout.set("../evil", fakeManifest(4)), (e) => isPierError(e, "INVALID_REF_NAME"));
    await layout.set("registry.example/ns/app:1.0", fakeManifest(5));
    assert.deepEqual(await readdir(join(layout.root, "ingest")), [], "no temp index left behind");
  });

  test("a malformed index.json is refused with an error naming the problem", async () => {
    const layout = await OciLayout.open(join(dir, "bad"));
    const index = join(layout.root, "index.json");
    const cases: [string, RegExp][] = [
      ["{not json", /index\.json: not valid JSON/],
      [JSON.stringify({ schemaVersion: 2 }), /index\.json\.manifests/],
      [
        JSON.stringify({
          schemaVersion: 2,
          manifests: [{ mediaType: MediaType.OciManifest, digest: "sha256:xyz", size: 1 }],
        }),
        /index\.json\.manifests\[0\]\.digest/,
      ],
    ];
    for (const [text, pattern] of cases) {
      await writeFile(index, text);
      await assert.rejects(layout.list(), (e: unknown) => {
        assert.ok(isPierError(e, "INVALID_LAYOUT"), String(e));
        assert.match(e.message, pattern);
        assert.ok(e.message.includes(index), "names the file");
        return true;
      });
      await assert.rejects(layout.set("x", fakeManifest(1)), (e) => isPierError(e, "INVALID_LAYOUT"));
      assert.equal(await readFile(index, "utf8"), text, "a bad index is not overwritten");
    }
    await assert.rejects(new OciLayout(join(dir, "absent")).list(), /oci-layout is missing/);
  });

  test("concurrent updates from several processes lose nothing", async () => {
    const layout = await OciLayout.open(join(dir, "concurrent"));
    const perProcess = 25;
    const procs = [0, 1, 2, 3].map((p) => {
      const code = `import { OciLayout } from ${JSON.stringify(LAYOUT_MODULE)};
const layout = new OciLayout(${JSON.stringify(layout.root)});
for (let i = 0; i < ${perProcess}; i++) {
  const n = ${p} * 1000 + i;
  const hex = n.toString(16).padStart(64, "0");
  await layout.set("p${p}-" + i, { mediaType: "${MediaType.OciManifest}", digest: "sha256:" + hex, size: n });
}`;
      return spawn(process.execPath, ["--input-type=module", "-e", code], {
        stdio: ["ignore", "inherit", "inherit"],
      });
    });
    const codes = await Promise.all(procs.map((p) => new Promise((r) => p.once("exit", r))));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    const names = (await layout.list()).map((n) => n.name);
    assert.equal(names.length, 4 * perProcess);
    assert.equal(new Set(names).size, 4 * perProcess);
  });

  test("kill -9 in the middle of updates leaves a valid index.json and no stuck lock", async () => {
    const layout = await OciLayout.open(join(dir, "killed"));
    const code = `import { OciLayout } from ${JSON.stringify(LAYOUT_MODULE)};
const layout = new OciLayout(${JSON.stringify(layout.root)});
for (let i = 0; ; i++) {
  const hex = i.toString(16).padStart(64, "0");
  await layout.set("t" + (i % 50), { mediaType: "${MediaType.OciManifest}", digest: "sha256:" + hex, size: i });
  if (i === 3) process.stdout.write("running\\n");
}`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
    await new Promise((r) => setTimeout(r, 150));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    assert.ok((await layout.list()).length >= 4, "index.json is whole and valid");
    await new OciLayout(layout.root, { timeoutMs: 5000 }).set("after", fakeManifest(9));
    assert.equal((await layout.resolve("after"))?.digest, digestOf("m9"));
  });

  test("skopeo and umoci accept a layout written by LocalContentStore and OciLayout", async () => {
    const root = join(dir, "interop");
    const store = await LocalContentStore.open(root);
    const image = await writeTinyImage(store);
    const layout = await OciLayout.open(root);
    await layout.set("latest", image.manifest);
    // A leftover partial ingest must not bother them either.
    const w = await store.writer("partial");
    await w.write(Buffer.from("partial data"));
    await w.close();
    // Held while they read: the lock file beside index.json must not bother them.
    const held = await FileLock.acquire(layout.lockPath);
    const inspect = JSON.parse(await runTool("skopeo", ["inspect", `oci:${root}:latest`]));
    assert.equal(inspect.Digest, image.manifest.digest);
    assert.deepEqual(
      inspect.Layers,
      image.layers.map((l) => l.digest),
    );
    const tags = (await runTool("umoci", ["ls", "--layout", root])).trim().split("\n");
    assert.deepEqual(tags, ["latest"]);
    await held.release();
    // And pier reads what skopeo adds to the same layout.
    await runTool("skopeo", ["copy", "-q", `oci:${root}:latest`, `oci:${root}:copy`]);
    assert.equal((await layout.resolve("copy"))?.digest, image.manifest.digest);
  });
});
