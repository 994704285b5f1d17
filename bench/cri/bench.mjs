// Driver of bench/cri/run.sh: see the header there. Arguments: <build dir> <rounds>.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

const [build, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 7);
const ts = await import(join(build, "testing", "engine.js"));
const { criProtoDir } = await import(join(build, "engine", "cri", "proto.js"));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
async function timed(f) {
  await new Promise((r) => setTimeout(r, 300));
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const tmpfs = await mkdtemp(join(tmpdir(), "pier-cri-bench-run-"));
spawnSync("mount", ["-t", "tmpfs", "tmpfs", tmpfs]);
const reg = await ts.busyboxRegistry();
const d = await ts.startTestDaemon([], { execRoot: tmpfs });
const dir = criProtoDir();
const pkg = grpc.loadPackageDefinition(
  loadSync(join(dir, "api.proto"), { includeDirs: [dir], keepCase: true, longs: String, enums: String }),
);
const rt = new pkg.runtime.v1.RuntimeService(
  `unix:${join(tmpfs, "cri.sock")}`,
  grpc.credentials.createInsecure(),
);
const img = new pkg.runtime.v1.ImageService(
  `unix:${join(tmpfs, "cri.sock")}`,
  grpc.credentials.createInsecure(),
);
const call = (c, m, req = {}) => new Promise((res, rej) => c[m](req, (e, r) => (e ? rej(e) : res(r))));

let n = 0;
async function startPod() {
  const i = n++;
  const config = {
    metadata: { name: `b${i}`, uid: `u${i}`, namespace: "bench", attempt: 0 },
    hostname: `b${i}`,
  };
  const { pod_sandbox_id: pod } = await call(rt, "RunPodSandbox", { config });
  const { container_id: c } = await call(rt, "CreateContainer", {
    pod_sandbox_id: pod,
    config: { metadata: { name: "c" }, image: { image: reg.image }, command: ["sleep", "3600"] },
    sandbox_config: config,
  });
  await call(rt, "StartContainer", { container_id: c });
  return pod;
}
async function removePod(pod) {
  await call(rt, "StopPodSandbox", { pod_sandbox_id: pod });
  await call(rt, "RemovePodSandbox", { pod_sandbox_id: pod });
}

try {
  await call(img, "PullImage", { image: { image: reg.image } });
  await removePod(await startPod()); // the pause image is made, caches are warm
  const start = [];
  const remove = [];
  const par = [];
  const parRm = [];
  for (let r = 0; r < rounds; r++) {
    let pod;
    start.push(await timed(async () => (pod = await startPod())));
    remove.push(await timed(() => removePod(pod)));
    let pods;
    par.push(await timed(async () => (pods = await Promise.all(Array.from({ length: 20 }, startPod)))));
    parRm.push(await timed(() => Promise.all(pods.map(removePod))));
  }
  const f = (x) => `${x.toFixed(1)} ms`;
  console.log(`rounds: ${rounds}`);
  console.log(`pod start (RunPodSandbox+CreateContainer+StartContainer): median ${f(median(start))}`);
  console.log(`pod removal (StopPodSandbox+RemovePodSandbox):            median ${f(median(remove))}`);
  console.log(`20 pods started in parallel:                              median ${f(median(par))}`);
  console.log(`20 pods removed in parallel:                              median ${f(median(parRm))}`);
} finally {
  rt.close();
  img.close();
  await d.stop();
  await reg.stop();
  spawnSync("umount", ["-l", tmpfs]);
  await rm(tmpfs, { recursive: true, force: true });
}
