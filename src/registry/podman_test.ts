import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { removeTempDir } from "../testing/busybox.js";
import { startTestRegistry, type TestRegistry } from "../testing/registry.js";
import { writeTestLayout } from "../testing/registry-layout.js";
import { runTool } from "../testing/umoci.js";

let t: TestRegistry;
let dir: string;
// A private store so the test touches nothing of the machine's podman.
const podman = (...args: string[]) =>
  runTool("podman", [
    "--root",
    join(dir, "root"),
    "--runroot",
    join(dir, "run"),
    "--storage-driver",
    "vfs",
    ...args,
  ]);

before(async () => {
  t = await startTestRegistry();
  // podman names an oci: image after its path, which must then be lower case.
  dir = join(tmpdir(), `pier-registry-podman-${randomBytes(6).toString("hex")}`);
  await mkdir(dir);
  await writeTestLayout(join(dir, "src"));
});
after(async () => {
  await podman("rmi", "-a", "-f").catch(() => "");
  await t.stop();
  await removeTempDir(dir);
});

test("podman pushes to pier and pulls back the same image", async () => {
  const id = (await podman("pull", "-q", `oci:${join(dir, "src")}:multi-layer`)).trim();
  const ref = `${t.reg.host}/podman/image:v1`;
  await podman("push", "--tls-verify=false", id, `docker://${ref}`);
  await podman("rmi", "-a", "-f");
  const pulled = (await podman("pull", "-q", "--tls-verify=false", ref)).trim();
  assert.equal(pulled, id);
  const res = await fetch(`${t.url}/v2/podman/image/manifests/v1`, { method: "HEAD" });
  assert.equal(res.status, 200);
  const digest = (await podman("image", "inspect", "--format", "{{.Digest}}", ref)).trim();
  assert.equal(digest, res.headers.get("docker-content-digest"));
});
