/**
 * CheckpointContainer against a real pierd (needs CRIU 4): the running container of a pod is
 * dumped into the podman archive CRI-O writes, at the location given, and keeps running.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import {
  type Client,
  type CriTestNetwork,
  call,
  clients,
  criTestNetwork,
  rejectsWith,
} from "../../testing/cri-client.js";
import {
  type BusyboxRegistry,
  busyboxRegistry,
  startTestDaemon,
  type TestDaemon,
} from "../../testing/engine.js";
import { checkpointTestSkip } from "../../testing/runtime-criu.js";

const skip = await checkpointTestSkip("cri checkpoint_test");

describe("CRI CheckpointContainer", { skip }, () => {
  let reg: BusyboxRegistry;
  let d: TestDaemon;
  let net: CriTestNetwork;
  let rt: Client;
  let img: Client;
  let dir: string;

  before(async () => {
    reg = await busyboxRegistry();
    net = await criTestNetwork();
    d = await startTestDaemon(net.flags);
    dir = await makeTempDir("pier-cri-ckpt-");
    ({ runtime: rt, image: img } = clients(join(d.execRoot, "cri.sock")));
    await call(img, "PullImage", { image: { image: reg.image } });
  });
  after(async () => {
    rt?.close();
    img?.close();
    await d?.stop();
    await net?.cleanup();
    await reg?.stop();
    if (dir) await removeTempDir(dir);
  });

  it("writes the container's checkpoint archive at the location and leaves it running", async () => {
    const sandbox_config = { metadata: { name: "ck", uid: "u-ck", namespace: "default", attempt: 0 } };
    const { pod_sandbox_id: pod } = await call(rt, "RunPodSandbox", { config: sandbox_config });
    const { container_id: id } = await call(rt, "CreateContainer", {
      pod_sandbox_id: pod,
      config: {
        metadata: { name: "count", attempt: 0 },
        image: { image: reg.image },
        command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.1; done"],
      },
      sandbox_config,
    });
    await call(rt, "StartContainer", { container_id: id });
    await rejectsWith(
      call(rt, "CheckpointContainer", { container_id: id, location: "relative.tar" }),
      grpc.status.INVALID_ARGUMENT,
      /location "relative\.tar": want an absolute path/,
    );
    const location = join(dir, "checkpoint-ck_default-count.tar");
    await call(rt, "CheckpointContainer", { container_id: id, location, timeout: 120 });
    assert.ok(existsSync(location));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith(".partial")),
      [],
    );
    const entries = execFileSync("tar", ["-tf", location], { encoding: "utf8" }).split("\n");
    for (const e of ["config.dump", "spec.dump", "checkpoint/inventory.img"])
      assert.ok(
        entries.some((x) => x.replace(/^\.\//, "") === e),
        `${e} in ${entries.join(" ")}`,
      );
    const st = await call(rt, "ContainerStatus", { container_id: id });
    assert.equal(st.status.state, "CONTAINER_RUNNING");
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: pod });
  });
});
