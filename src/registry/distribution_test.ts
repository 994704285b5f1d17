import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import {
  type DistributionRegistry,
  pushBlob,
  startDistribution,
  startTestRegistry,
  type TestRegistry,
} from "../testing/registry.js";
import { writeTestLayout } from "../testing/registry-layout.js";
import { runTool } from "../testing/umoci.js";

let pier: TestRegistry;
let dist: DistributionRegistry;
let dir: string;
const skopeo = (...args: string[]) => runTool("skopeo", ["--insecure-policy", ...args]);

before(async () => {
  pier = await startTestRegistry();
  dist = await startDistribution();
  dir = await makeTempDir("pier-registry-dist-");
  await writeTestLayout(join(dir, "src"));
});
after(async () => {
  await pier.stop();
  await dist.stop();
  await removeTempDir(dir);
});

test("skopeo copies a multi-arch image docker-registry -> pier -> docker-registry unchanged", async () => {
  const src = `docker://${dist.host}/interop/multi:v1`;
  await skopeo("copy", "--all", "--dest-tls-verify=false", `oci:${join(dir, "src")}:multi-arch`, src);
  const mid = `docker://${pier.reg.host}/interop/multi:v1`;
  await skopeo("copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false", src, mid);
  const back = `docker://${dist.host}/interop/back:v1`;
  await skopeo("copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false", mid, back);
  const raws = await Promise.all(
    [src, mid, back].map((r) => skopeo("inspect", "--raw", "--tls-verify=false", r)),
  );
  assert.equal(raws[1], raws[0]);
  assert.equal(raws[2], raws[0]);
});

/** The same request to both registries: status and first error code must agree. */
async function both(path: string, init: RequestInit = {}): Promise<void> {
  const answer = async (url: string) => {
    const res = await fetch(`${url}${path}`, init);
    const text = await res.text();
    let code: string | undefined;
    try {
      code = (JSON.parse(text) as { errors?: { code: string }[] }).errors?.[0]?.code;
    } catch {}
    return { status: res.status, code };
  };
  const [p, d] = await Promise.all([answer(pier.url), answer(dist.url)]);
  assert.deepEqual(
    p,
    d,
    `${init.method ?? "GET"} ${path}: pier ${JSON.stringify(p)}, docker-registry ${JSON.stringify(d)}`,
  );
}

test("pier answers like docker-registry where both follow the spec", async () => {
  await Promise.all([pushBlob(pier.url, "diff/x", "{}"), pushBlob(dist.url, "diff/x", "{}")]);
  const missing = `sha256:${"0".repeat(64)}`;
  const manifest = (layer: string) =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: digestOf("{}"), size: 2 },
      layers: [{ mediaType: MediaType.OciLayerGzip, digest: layer, size: 1 }],
    });
  await both("/v2/");
  await both(`/v2/diff/x/blobs/${missing}`);
  await both(`/v2/diff/x/blobs/${missing}`, { method: "HEAD" });
  await both(`/v2/diff/x/blobs/${digestOf("{}")}`);
  await both("/v2/diff/x/manifests/nope");
  await both(`/v2/diff/x/manifests/${missing}`, { method: "DELETE" });
  // Not compared: an unknown upload session (distribution says BLOB_UPLOAD_INVALID, the spec
  // BLOB_UPLOAD_UNKNOWN, as pier does) and a monolithic POST (distribution opens a session).
  await both("/v2/diff/x/manifests/t", {
    method: "PUT",
    headers: { "Content-Type": MediaType.OciManifest },
    body: manifest(missing),
  });
  await both("/v2/diff/x/manifests/t", {
    method: "PUT",
    headers: { "Content-Type": MediaType.OciManifest },
    body: "{",
  });
  await both("/v2/diff/x/manifests/t", {
    method: "PUT",
    headers: { "Content-Type": MediaType.OciManifest },
    body: manifest(digestOf("{}")),
  });
  // With no Accept header at all distribution 2.8 hides OCI manifests (it assumes schema 1); pier serves them.
  await both("/v2/diff/x/manifests/t", { method: "HEAD", headers: { Accept: MediaType.OciManifest } });
  await both("/v2/diff/x/tags/list");
  // Not compared: DELETE by tag, which distribution 2.8 refuses (400) and spec 1.1 pier supports.
});
