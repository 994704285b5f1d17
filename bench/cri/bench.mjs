// Driver of bench/cri/run.sh: see the header there. Arguments: <build dir> <rounds>.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

const [build, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 7);
const ts = await import(join(build, "testing", "engine.js"));
const { criProtoDir } = await import(join(build, "engine", "cri", "proto.js"));
const { PAUSE_IMAGE } = await import(join(build, "engine", "cri", "pause-image.js"));
const { push } = await import(join(build, "remote", "pull.js"));
const streamClient = await import(join(build, "testing", "cri-stream-client.js"));
const streamSkip = streamClient.streamClientSkipReason();
if (!streamSkip) streamClient.streamClient();

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
// One CNI config directory for both runtimes: the same conflist, the same Debian plugins.
const cniConfDir = await mkdtemp(join(tmpdir(), "pier-cri-bench-cni-"));
await writeFile(
  join(cniConfDir, "10-bench.conflist"),
  JSON.stringify({
    cniVersion: "0.4.0",
    name: "ctrbench",
    plugins: [
      {
        type: "bridge",
        bridge: "ctrbench0",
        isGateway: true,
        ipMasq: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: "10.199.0.0/16" }]],
          routes: [{ dst: "0.0.0.0/0" }],
        },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  }),
);
const d = await ts.startTestDaemon(["--cni-conf-dir", cniConfDir], { execRoot: tmpfs });
const dir = criProtoDir();
const pkg = grpc.loadPackageDefinition(
  loadSync(join(dir, "api.proto"), { includeDirs: [dir], keepCase: true, longs: String, enums: String }),
);

const endpoint = (sock) => ({
  rt: new pkg.runtime.v1.RuntimeService(`unix:${sock}`, grpc.credentials.createInsecure()),
  img: new pkg.runtime.v1.ImageService(`unix:${sock}`, grpc.credentials.createInsecure()),
});
const call = (c, m, req = {}) => new Promise((res, rej) => c[m](req, (e, r) => (e ? rej(e) : res(r))));
const pierEnd = endpoint(join(tmpfs, "cri.sock"));
let { rt, img } = pierEnd;

/**
 * Debian's containerd 1.6 with its CRI plugin in directories of its own (its own socket, root,
 * state; the same CNI config directory as pierd's, so the same conflist and Debian plugins), its sandbox image being pier's pause image
 * pushed to the same local registry (so both run the same pause binary and the same busybox).
 */
async function startContainerd() {
  if (!existsSync("/usr/bin/containerd")) return undefined;
  const dir = await mkdtemp(join(tmpdir(), "pier-cri-bench-containerd-"));
  const host = new URL(reg.registry.url).host;
  const pause = `${host}/pier-pause:bench`;
  await push(pause, { storeRoot: d.root, localName: PAUSE_IMAGE, insecure: true });
  const sock = join(dir, "containerd.sock");
  await writeFile(
    join(dir, "config.toml"),
    `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${sock}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pause}"
  # containerd gives sandboxes oom_score_adj -998; lowering it needs CAP_SYS_RESOURCE, which a
  # host without it (a container, this CI) refuses: runc's nsexec then fails with "can't get final
  # child's PID from pipe". Restricted, containerd keeps its own score (0), as pier's pause has.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniConfDir}"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."${host}"]
    endpoint = ["http://${host}"]
`,
  );
  const proc = spawn("/usr/bin/containerd", ["--config", join(dir, "config.toml")], {
    stdio: ["ignore", "ignore", process.env.PIER_BENCH_CONTAINERD_LOG ? "inherit" : "ignore"],
  });
  const until = Date.now() + 20000;
  while (!existsSync(sock)) {
    if (Date.now() > until) throw new Error("containerd did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return { dir, proc, sock, ...endpoint(sock) };
}

let n = 0;
/** The container of the last pod started. */
let lastContainer;
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
  lastContainer = c;
  return pod;
}
async function removePod(pod) {
  await call(rt, "StopPodSandbox", { pod_sandbox_id: pod });
  await call(rt, "RemovePodSandbox", { pod_sandbox_id: pod });
}

let ctr;
try {
  await call(img, "PullImage", { image: { image: reg.image } });
  await removePod(await startPod()); // the pause image is made, caches are warm
  ctr = await startContainerd();
  let ctrFailed = "";
  if (ctr) {
    try {
      ({ rt, img } = ctr);
      await call(img, "PullImage", { image: { image: reg.image } });
      await removePod(await startPod());
    } catch (err) {
      // Reported, and pier measured alone (see PIER_BENCH_CONTAINERD_LOG=1 for containerd's log).
      ctrFailed = err.details ?? err.message;
    }
  }
  const sides = { pier: pierEnd, ...(ctr && !ctrFailed ? { containerd: ctr } : {}) };
  const m = {};
  for (const k of Object.keys(sides)) m[k] = { start: [], exec: [], remove: [], par: [], parRm: [] };
  // Exec through the streaming server: the Exec call, then the Go client (client-go's SPDY
  // library) upgrading, opening its streams, and reading `true`'s exit status.
  const execTrue = async (container) => {
    const { url } = await call(rt, "Exec", { container_id: container, cmd: ["true"], stdout: true });
    const r = await streamClient.runStreamClient([url]);
    if (r.code !== 0) throw new Error(`exec through ${url}: status ${r.code}: ${r.stderr}`);
  };
  for (let r = 0; r < rounds; r++) {
    // Both sides each round, in turn: neither gets a quieter machine.
    for (const [k, side] of Object.entries(sides)) {
      ({ rt, img } = side);
      let pod;
      m[k].start.push(await timed(async () => (pod = await startPod())));
      if (!streamSkip) m[k].exec.push(await timed(() => execTrue(lastContainer)));
      m[k].remove.push(await timed(() => removePod(pod)));
      let pods;
      m[k].par.push(
        await timed(async () => (pods = await Promise.all(Array.from({ length: 20 }, startPod)))),
      );
      m[k].parRm.push(await timed(() => Promise.all(pods.map(removePod))));
    }
  }
  const f = (x) => `${x.toFixed(1)} ms`;
  console.log(`rounds: ${rounds}${ctr ? "" : " (no /usr/bin/containerd: pier only)"}`);
  if (ctrFailed) console.log(`containerd could not run a pod (pier only): ${ctrFailed}`);
  if (streamSkip) console.log(`exec through the streaming server not measured: ${streamSkip}`);
  const rows = [
    ["start", "pod start (RunPodSandbox+CreateContainer+StartContainer)"],
    ...(streamSkip ? [] : [["exec", "exec `true` through the streaming server (Exec + SPDY)"]]),
    ["remove", "pod removal (StopPodSandbox+RemovePodSandbox)"],
    ["par", "20 pods started in parallel"],
    ["parRm", "20 pods removed in parallel"],
  ];
  for (const [key, label] of rows) {
    const p = median(m.pier[key]);
    const c = m.containerd ? median(m.containerd[key]) : undefined;
    const vs = c !== undefined ? `  containerd ${f(c)}  ratio pier/containerd ${(p / c).toFixed(2)}` : "";
    console.log(`${label.padEnd(58)} pier ${f(p)}${vs}`);
  }
} finally {
  pierEnd.rt.close();
  pierEnd.img.close();
  if (ctr) {
    ctr.rt.close();
    ctr.img.close();
    ctr.proc.kill("SIGTERM");
    await new Promise((r) => ctr.proc.once("exit", r));
    const mounts = spawnSync("cat", ["/proc/self/mountinfo"], { encoding: "utf8" })
      .stdout.split("\n")
      .map((l) => l.split(" ")[4] ?? "")
      .filter((p) => p.startsWith(ctr.dir) || p.startsWith(`${tmpfs}/containerd`));
    for (const p of mounts.reverse()) spawnSync("umount", ["-l", p]);
    await rm(ctr.dir, { recursive: true, force: true });
  }
  await d.stop();
  spawnSync("ip", ["link", "del", "ctrbench0"]);
  await rm(cniConfDir, { recursive: true, force: true });
  await reg.stop();
  spawnSync("umount", ["-l", tmpfs]);
  await rm(tmpfs, { recursive: true, force: true });
}
