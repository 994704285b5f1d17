/**
 * The engine's operations surface through the stock docker CLI and the pier CLI: pause/unpause,
 * stats, images (tag, rmi, push, inspect, prune), system info/df/prune, container and volume
 * prune, events filters, image volumes, restart policies across a pierd restart, and TLS.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import {
  type BusyboxRegistry,
  docker,
  dockerEnv,
  PIERD_MAIN,
  pier,
  requireDocker,
  runCommand,
  startTestDaemon,
  type TestDaemon,
  useTestDaemon,
} from "../../testing/engine.js";
import { socketRequest } from "../../testing/socket-request.js";
import { writeDockerTlsCerts } from "../../testing/tls-cert.js";
import { containerMatches } from "../api/docker-containers.js";
import { restartOnBoot } from "../containers/service.js";
import { EventLog, eventMatches } from "../events.js";
import { durationMs } from "../filters.js";
import { planRmi } from "../image-operations.js";
import { dockerStats, parseNetDev, systemCpuNs } from "../stats.js";
import { cpuPercent } from "../stats-document.js";
import { prunableContainer } from "../system.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
useTestDaemon({
  ready: (fx) => {
    ({ reg, d } = fx);
  },
  pull: true,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const raw = (method: string, path: string, body?: string, socketPath = d.dockerSocket) =>
  socketRequest(socketPath, method, path, body);

test("one engine under both APIs: a pull through either records the same pull event", async () => {
  // Not a second earlier: the fixture's own pull is not this test's.
  const since = Date.now() / 1000;
  const viaPier = await raw("POST", "/v1/images/pull", JSON.stringify({ ref: reg.image }), d.socket);
  assert.equal(viaPier.status, 200, viaPier.body);
  assert.match(viaPier.body, /"done":\{"digest":"sha256:/);
  const [repo, tag] = [
    reg.image.slice(0, reg.image.lastIndexOf(":")),
    reg.image.slice(reg.image.lastIndexOf(":") + 1),
  ];
  const viaDocker = await raw(
    "POST",
    `/v1.41/images/create?fromImage=${encodeURIComponent(repo)}&tag=${tag}`,
  );
  assert.equal(viaDocker.status, 200, viaDocker.body);
  assert.match(viaDocker.body, /Digest: sha256:/);
  // A millisecond on: `until` is inclusive, and an event of this very millisecond has its fraction.
  const query = `since=${since}&until=${(Date.now() + 1) / 1000}&filters=${encodeURIComponent('{"type":["image"],"event":["pull"]}')}`;
  for (const [socket, path] of [
    [d.socket, `/v1/events?${query}`],
    [d.dockerSocket, `/v1.41/events?${query}`],
  ] as const) {
    const events = (await raw("GET", path, undefined, socket)).body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { Action: string; Actor: { ID: string; Attributes: { name: string } } });
    assert.deepEqual(
      events.map((e) => [e.Action, e.Actor.ID, e.Actor.Attributes.name]),
      [
        ["pull", reg.image, reg.image],
        ["pull", reg.image, reg.image],
      ],
      path,
    );
  }
});

async function logLines(ref: string): Promise<number> {
  return (await docker(d, ["logs", ref])).stdout.split("\n").filter(Boolean).length;
}

test("pure: restart decisions on boot, rmi plans, filters, stats maths", () => {
  const rec = (name: "always" | "unless-stopped" | "on-failure" | "no", exitCode = 1, max = 0) => ({
    config: { image: "x", restartPolicy: { name, maximumRetryCount: max } },
    exitCode,
    restartCount: 1,
  });
  assert.equal(restartOnBoot(rec("always"), true), true);
  assert.equal(restartOnBoot(rec("unless-stopped"), true), false);
  assert.equal(restartOnBoot(rec("unless-stopped"), false), true);
  assert.equal(restartOnBoot(rec("on-failure", 0), false), false);
  assert.equal(restartOnBoot(rec("on-failure", 2, 1), false), false, "retries used up");
  assert.equal(restartOnBoot(rec("on-failure", 2, 3), false), true);
  assert.equal(restartOnBoot(rec("no"), false), false);

  const img = {
    id: "sha256:c0ffee0123456789",
    root: "sha256:abcdef0123456789",
    manifest: "sha256:abcdef0123456789",
    names: ["a:1", "b:1"],
  };
  assert.deepEqual(planRmi(img, "a:1", [], false), { untag: ["a:1"], remove: false });
  assert.match(JSON.stringify(planRmi(img, undefined, [], false)), /must be forced/);
  assert.deepEqual(planRmi(img, undefined, [], true), { untag: ["a:1", "b:1"], remove: true });
  const one = { ...img, names: ["a:1"] };
  const stopped = [{ id: "c".repeat(64), status: "exited" as const }];
  assert.match(JSON.stringify(planRmi(one, "a:1", stopped, false)), /must force/);
  assert.deepEqual(planRmi(one, "a:1", stopped, true), { untag: ["a:1"], remove: true });
  assert.match(
    JSON.stringify(planRmi(one, "a:1", [{ id: "c".repeat(64), status: "running" }], true)),
    /cannot be forced/,
  );

  const log = new EventLog();
  const e = log.record("container", "start", "f".repeat(64), { name: "web", image: "busybox" });
  assert.equal(eventMatches(e, { type: ["container"], event: ["start"], container: ["web"] }), true);
  assert.equal(eventMatches(e, { event: ["die"] }), false);
  assert.equal(eventMatches(e, { container: ["other"] }), false);
  assert.equal(eventMatches(e, { type: ["image"] }), false);
  assert.equal(eventMatches(e, { image: ["busybox:latest"] }), true);
  assert.equal(log.history(e.time - 1).length, 1);
  assert.equal(log.history(e.time + 10).length, 0);

  const row = {
    Id: "abc123",
    Names: ["/web"],
    Image: "busybox",
    ImageID: "sha256:fff",
    Labels: { tier: "front" },
    State: "exited",
    Status: "Exited (3) 2 seconds ago",
  };
  assert.equal(containerMatches(row, { status: ["exited"], name: ["we"], id: ["abc"] }), true);
  assert.equal(containerMatches(row, { status: ["running", "paused"] }), false);
  assert.equal(containerMatches(row, { label: ["tier=front"], ancestor: ["busybox"], exited: ["3"] }), true);
  assert.equal(containerMatches(row, { exited: ["0"] }), false);
  assert.throws(() => containerMatches(row, { bogus: ["x"] }), /invalid filter 'bogus'/);
  assert.equal(durationMs("1h30m"), 5400000);
  assert.throws(() => durationMs("soon"), /invalid duration/);
  const old = {
    status: "exited",
    createdAt: "2000-01-01T00:00:00Z",
    config: { image: "x", labels: { a: "1" } },
  };
  assert.equal(prunableContainer(old as never, { until: ["1h"], label: ["a=1"] }), true);
  assert.equal(prunableContainer(old as never, { label: ["a=2"] }), false);
  assert.equal(prunableContainer({ ...old, status: "running" } as never, {}), false);

  assert.equal(systemCpuNs("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2\n"), 1e10);
  const dev =
    "Inter-|   Receive\n face |bytes\n    lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n  eth0: 100 2 0 0 0 0 0 0 200 3 0 1 0 0 0 0\n";
  assert.deepEqual(parseNetDev(dev), {
    eth0: {
      rx_bytes: 100,
      rx_packets: 2,
      rx_errors: 0,
      rx_dropped: 0,
      tx_bytes: 200,
      tx_packets: 3,
      tx_errors: 0,
      tx_dropped: 1,
    },
  });
  const cpu = (total: number, sys: number) => ({
    cpu_usage: { total_usage: total, usage_in_kernelmode: 0, usage_in_usermode: 0 },
    system_cpu_usage: sys,
    online_cpus: 2,
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  });
  assert.equal(cpuPercent(cpu(150, 1000), cpu(100, 900)), 100);
  const zero = dockerStats({ id: "x", name: "n" }, undefined, undefined, 1000);
  assert.equal(zero.read, "0001-01-01T00:00:00Z");
});

test("docker pause/unpause: state paused, the counter stops, then goes on", async () => {
  const r = await docker(d, [
    "run",
    "-d",
    "--name",
    "counter",
    reg.image,
    "sh",
    "-c",
    "i=0; while true; do echo $i; i=$((i+1)); sleep 0.05; done",
  ]);
  assert.equal(r.status, 0, r.stderr);
  await sleep(300);
  const p = await docker(d, ["pause", "counter"]);
  assert.equal(p.status, 0, p.stderr);
  const st = await docker(d, [
    "inspect",
    "--format",
    "{{.State.Status}} {{.State.Paused}} {{.State.Running}}",
    "counter",
  ]);
  assert.equal(st.stdout.trim(), "paused true true");
  const ps = await docker(d, ["ps", "--format", "{{.Names}} {{.State}} {{.Status}}"]);
  assert.match(ps.stdout, /^counter paused Up .*\(Paused\)$/m);
  const onlyPaused = await docker(d, ["ps", "-q", "--filter", "status=paused"]);
  assert.equal(onlyPaused.stdout.trim().length, 12, onlyPaused.stderr);
  assert.equal((await docker(d, ["ps", "-q", "--filter", "status=running"])).stdout.trim(), "");
  await sleep(200);
  const n1 = await logLines("counter");
  await sleep(600);
  assert.equal(await logLines("counter"), n1, "a paused container does not advance");
  const again = await docker(d, ["pause", "counter"]);
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /already paused/);
  const u = await docker(d, ["unpause", "counter"]);
  assert.equal(u.status, 0, u.stderr);
  await sleep(500);
  assert.ok((await logLines("counter")) > n1, "it runs again after unpause");
  const notPaused = await docker(d, ["unpause", "counter"]);
  assert.notEqual(notPaused.status, 0);
  assert.match(notPaused.stderr, /is not paused/);
  // A paused container still stops (it is thawed once signalled).
  await docker(d, ["pause", "counter"]);
  const stop = await docker(d, ["stop", "-t", "1", "counter"]);
  assert.equal(stop.status, 0, stop.stderr);
  await docker(d, ["rm", "counter"]);
});

test("docker stats --no-stream and the streamed stats API", async () => {
  const r = await docker(d, ["run", "-d", "--name", "busy", reg.image, "sh", "-c", "while true; do :; done"]);
  assert.equal(r.status, 0, r.stderr);
  try {
    await sleep(300);
    const s = await docker(d, [
      "stats",
      "--no-stream",
      "--format",
      "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}|{{.BlockIO}}",
      "busy",
    ]);
    assert.equal(s.status, 0, s.stderr);
    const [name, cpu, mem, pids] = s.stdout.trim().split("|");
    assert.equal(name, "busy");
    assert.ok(Number.parseFloat(cpu!) > 20, `a busy loop uses CPU: ${cpu}`);
    assert.match(mem!, /^[\d.]+[KMG]?i?B \/ [\d.]+[KMG]iB$/);
    assert.ok(Number(pids) >= 1, `pids ${pids}`);
    const table = await docker(d, ["stats", "--no-stream"]);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /CONTAINER ID\s+NAME\s+CPU %/);
    assert.match(table.stdout, /busy/);
    // The CLI's live view keeps reading the stream: two refreshes arrive.
    const live = spawn(requireDocker(), ["stats", "--format", "{{.Name}} {{.PIDs}}", "busy"], {
      env: dockerEnv(d),
    });
    let liveOut = "";
    live.stdout.on("data", (c: Buffer) => {
      liveOut += c.toString();
    });
    try {
      const until = Date.now() + 8000;
      while ((liveOut.match(/busy \d+/g) ?? []).length < 2 && Date.now() < until) await sleep(100);
      assert.ok((liveOut.match(/busy [1-9]\d*/g) ?? []).length >= 2, liveOut);
    } finally {
      // docker stats keeps its live view on SIGTERM: only SIGKILL ends it.
      live.kill("SIGKILL");
    }
    // Streaming: one JSON object a second, the second with precpu_stats filled.
    const objs = await new Promise<Record<string, unknown>[]>((resolve, reject) => {
      const got: Record<string, unknown>[] = [];
      let buf = "";
      const req = request({ socketPath: d.dockerSocket, path: "/v1.41/containers/busy/stats" }, (res) => {
        res.on("data", (c: Buffer) => {
          buf += c.toString();
          for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
            got.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
            buf = buf.slice(nl + 1);
            if (got.length === 2) {
              req.destroy();
              resolve(got);
            }
          }
        });
      });
      req.on("error", (e) => (got.length < 2 ? reject(e) : undefined));
      req.end();
    });
    const second = objs[1] as {
      cpu_stats: { cpu_usage: { total_usage: number } };
      precpu_stats: { cpu_usage: { total_usage: number } };
      memory_stats: { usage: number };
      pids_stats: { current: number };
      name: string;
    };
    assert.equal(second.name, "/busy");
    assert.ok(second.cpu_stats.cpu_usage.total_usage > second.precpu_stats.cpu_usage.total_usage);
    assert.ok(second.memory_stats.usage > 0);
    assert.ok(second.pids_stats.current >= 1);
  } finally {
    await docker(d, ["rm", "-f", "busy"]);
  }
});

test("docker tag, inspect IMAGE, push with progress, rmi untag vs delete, 404 and 409", async () => {
  const host = new URL(reg.registry.url).host;
  const pushed = `${host}/pushed/bb:v1`;
  const tag = await docker(d, ["tag", reg.image, pushed]);
  assert.equal(tag.status, 0, tag.stderr);
  const insp = await docker(d, [
    "inspect",
    "--format",
    "{{.Os}} {{len .RootFS.Layers}} {{json .Config.Cmd}}",
    pushed,
  ]);
  assert.equal(insp.status, 0, insp.stderr);
  assert.equal(insp.stdout.trim(), 'linux 1 ["sh"]');
  const push = await docker(d, ["push", pushed]);
  assert.equal(push.status, 0, push.stderr);
  assert.match(push.stdout, /The push refers to repository \[.*\/pushed\/bb\]/);
  assert.match(push.stdout, /v1: digest: sha256:[a-f0-9]{64} size: \d+/);
  // The registry has it: pier's registry answers the manifest.
  const res = await fetch(`${reg.registry.url}/v2/pushed/bb/manifests/v1`, {
    headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  // Two names: rmi of one only untags.
  const untag = await docker(d, ["rmi", pushed]);
  assert.equal(untag.status, 0, untag.stderr);
  assert.equal(untag.stdout.trim(), `Untagged: ${pushed}`);
  const missing = await docker(d, ["rmi", "nosuch:1"]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /No such image: nosuch:1/);
  const nf = await raw("DELETE", "/v1.41/images/nosuch:1");
  assert.equal(nf.status, 404);
  // In use by a container: 409 unless -f; a running user even blocks -f.
  await docker(d, ["tag", reg.image, "solo:1"]);
  const c = await docker(d, ["create", "--name", "user1", "solo:1", "true"]);
  assert.equal(c.status, 0, c.stderr);
  const twoNames = await docker(d, ["rmi", "solo:1"]);
  assert.equal(twoNames.status, 0, "one of several names untags even while in use");
  await docker(d, ["tag", reg.image, "solo:1"]);
  const conflict = await raw("DELETE", `/v1.41/images/${encodeURIComponent(reg.image)}`);
  assert.equal(conflict.status, 200, "still two names (solo:1 and the registry one)");
  const last = await raw("DELETE", "/v1.41/images/solo:1");
  assert.equal(last.status, 409, last.body);
  assert.match(JSON.parse(last.body).message, /must force/);
  const cli409 = await docker(d, ["rmi", "solo:1"]);
  assert.notEqual(cli409.status, 0);
  assert.match(cli409.stderr, /container .* is using its referenced image/);
  await docker(d, ["rm", "user1"]);
  const del = await docker(d, ["rmi", "solo:1"]);
  assert.equal(del.status, 0, del.stderr);
  assert.match(del.stdout, /^Untagged: solo:1\nDeleted: sha256:[a-f0-9]{64}$/m);
  const imgs = await docker(d, ["images", "-q"]);
  assert.equal(imgs.stdout.trim(), "");
  // Pull it back for the other tests.
  const again = await docker(d, ["pull", reg.image]);
  assert.equal(again.status, 0, again.stderr);
  // An id naming an image with several names needs -f; a name only untags.
  await docker(d, ["tag", reg.image, "short:1"]);
  const id = (await docker(d, ["images", "-q"])).stdout.trim().split("\n")[0]!;
  assert.match(id, /^[a-f0-9]{12}$/);
  const byId = await docker(d, ["rmi", id]);
  assert.notEqual(byId.status, 0);
  assert.match(byId.stderr, /must be forced\) - image is referenced in multiple repositories/);
  // One image id everywhere: the config digest, as docker's own (images, inspect, a container's
  // Image, pier images), and an id prefix finds the image.
  const manifest = (await (
    await fetch(`${reg.registry.url}/v2/busybox/manifests/latest`, {
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
    })
  ).json()) as { config: { digest: string } };
  const configId = manifest.config.digest;
  assert.equal(id, configId.slice(7, 19));
  assert.equal((await docker(d, ["inspect", "--format", "{{.Id}}", id])).stdout.trim(), configId);
  assert.equal((await docker(d, ["inspect", "--format", "{{.Id}}", configId])).stdout.trim(), configId);
  const user = await docker(d, ["create", "--name", "idcheck", "short:1", "true"]);
  assert.equal(user.status, 0, user.stderr);
  assert.equal((await docker(d, ["inspect", "--format", "{{.Image}}", "idcheck"])).stdout.trim(), configId);
  const ancestor = await docker(d, ["ps", "-a", "-q", "--no-trunc", "--filter", `ancestor=${id}`]);
  assert.equal(ancestor.stdout.trim(), user.stdout.trim());
  await docker(d, ["rm", "idcheck"]);
  assert.ok((await pier(d, ["images", "-q"])).stdout.split("\n").includes(id));
  assert.equal((await docker(d, ["rmi", "short:1"])).stdout.trim(), "Untagged: short:1");
});

test("image Config.Volumes get anonymous volumes, removed by rm -v", async () => {
  // The busybox image declares no volume: make one that does through pier's own image library.
  const { ImageStore } = await import("../../image/image-store.js");
  const { createImage } = await import("../../image/build.js");
  const { makeTempDir, removeTempDir, writeBusyboxRootfs } = await import("../../testing/busybox.js");
  const { push } = await import("../../remote/pull.js");
  const work = await makeTempDir("pier-ops-vol-");
  const host = new URL(reg.registry.url).host;
  try {
    const rootfs = await writeBusyboxRootfs(join(work, "rootfs"));
    const store = await ImageStore.open(join(work, "store"));
    await createImage(store, rootfs, "withvol:1", { cmd: ["sh"] });
    const img = await store.resolveImage("withvol:1");
    const config = { ...img.config, config: { ...img.config.config, Volumes: { "/data": {} } } };
    const c = await store.content.ingest(Buffer.from(JSON.stringify(config)));
    const manifest = { ...img.manifest, config: { ...img.manifest.config, digest: c.digest, size: c.size } };
    const m = await store.content.ingest(Buffer.from(JSON.stringify(manifest)));
    await store.layout.set("docker.io/library/withvol:1", {
      mediaType: img.descriptor.mediaType,
      digest: m.digest,
      size: m.size,
    });
    await push(`${host}/withvol:1`, {
      storeRoot: join(work, "store"),
      localName: "docker.io/library/withvol:1",
      insecure: true,
    });
  } finally {
    await removeTempDir(work);
  }
  const before = (await docker(d, ["volume", "ls", "-q"])).stdout.trim().split("\n").filter(Boolean);
  const r = await docker(d, ["run", "--name", "vols", `${host}/withvol:1`, "sh", "-c", "echo hi > /data/f"]);
  assert.equal(r.status, 0, r.stderr);
  const mounts = await docker(d, [
    "inspect",
    "--format",
    "{{range .Mounts}}{{.Type}} {{.Destination}} {{.Name}}{{end}}",
    "vols",
  ]);
  assert.match(mounts.stdout.trim(), /^volume \/data [a-f0-9]{64}$/);
  const name = mounts.stdout.trim().split(" ")[2]!;
  const now = (await docker(d, ["volume", "ls", "-q"])).stdout.trim().split("\n").filter(Boolean);
  assert.deepEqual(
    now.filter((v) => !before.includes(v)),
    [name],
  );
  const rm = await docker(d, ["rm", "-v", "vols"]);
  assert.equal(rm.status, 0, rm.stderr);
  const gone = (await docker(d, ["volume", "ls", "-q"])).stdout;
  assert.doesNotMatch(gone, new RegExp(name));
  await docker(d, ["rmi", `${host}/withvol:1`]);
});

test("system info, system df, container/volume/image prune, system prune", async () => {
  const info = await docker(d, ["info", "--format", "{{.CgroupVersion}} {{.ContainersPaused}} {{.Driver}}"]);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout.trim(), /^[12] 0 (overlay|copy)$/);
  await docker(d, ["run", "--name", "done1", reg.image, "sh", "-c", "head -c 100000 /dev/zero > /big"]);
  await docker(d, ["volume", "create", "spare"]);
  const df = await docker(d, ["system", "df"]);
  assert.equal(df.status, 0, df.stderr);
  assert.match(df.stdout, /^Images\s+1\s+1\s/m);
  assert.match(df.stdout, /^Containers\s+1\s+0\s+100(\.\d)?kB/m);
  assert.match(df.stdout, /^Local Volumes\s+1\s+0\s/m);
  const cp = await docker(d, ["container", "prune", "-f"]);
  assert.equal(cp.status, 0, cp.stderr);
  assert.match(cp.stdout, /Deleted Containers:\n[a-f0-9]{64}\n/);
  assert.equal((await docker(d, ["ps", "-aq"])).stdout.trim(), "");
  const vp = await docker(d, ["volume", "prune", "-f"]);
  assert.equal(vp.status, 0, vp.stderr);
  assert.match(vp.stdout, /spare/);
  const ip = await docker(d, ["image", "prune", "-f"]);
  assert.equal(ip.status, 0, ip.stderr);
  assert.match((await docker(d, ["images"])).stdout, /busybox/, "image prune keeps tagged images");
  const all = await docker(d, ["image", "prune", "-a", "-f"]);
  assert.equal(all.status, 0, all.stderr);
  assert.match(all.stdout, /Deleted Images:\nuntagged: .*busybox:latest\ndeleted: sha256:[a-f0-9]{64}/);
  assert.equal((await docker(d, ["images", "-q"])).stdout.trim(), "");
  assert.match((await docker(d, ["system", "df"])).stdout, /^Images\s+0\s+0\s+0B/m);
  assert.equal((await docker(d, ["pull", reg.image])).status, 0);
  await docker(d, ["run", "--name", "done2", reg.image, "true"]);
  const sp = await docker(d, ["system", "prune", "-f"]);
  assert.equal(sp.status, 0, sp.stderr);
  assert.match(sp.stdout, /Deleted Containers:\n[a-f0-9]{64}\n/);
  assert.equal((await docker(d, ["ps", "-aq"])).stdout.trim(), "");
  assert.match((await docker(d, ["images"])).stdout, /busybox/, "system prune keeps tagged images");
});

test("docker events: type/event/container filters, since and until replay", async () => {
  const t0 = Math.floor(Date.now() / 1000) - 1;
  const env = dockerEnv(d);
  const ev = spawn(
    requireDocker(),
    [
      "events",
      "--filter",
      "type=container",
      "--filter",
      "event=start",
      "--filter",
      "container=ev1",
      "--format",
      "{{.Action}} {{.Actor.Attributes.name}}",
    ],
    { env },
  );
  let out = "";
  ev.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  try {
    await sleep(500);
    await docker(d, ["run", "--name", "ev1", reg.image, "true"]);
    await docker(d, ["run", "--name", "ev2", reg.image, "true"]);
    await docker(d, ["start", "ev1"]);
    const until = Date.now() + 5000;
    while (out.split("\n").filter(Boolean).length < 2 && Date.now() < until) await sleep(50);
    await sleep(300);
    assert.deepEqual(out.trim().split("\n"), ["start ev1", "start ev1"]);
  } finally {
    ev.kill();
  }
  const t1 = Math.ceil(Date.now() / 1000) + 1;
  const replay = await docker(d, [
    "events",
    "--since",
    String(t0),
    "--until",
    String(t1),
    "--filter",
    "container=ev2",
    "--format",
    "{{.Type}} {{.Action}}",
  ]);
  assert.equal(replay.status, 0, replay.stderr);
  assert.deepEqual(replay.stdout.trim().split("\n"), [
    "container create",
    "container start",
    "container die",
  ]);
  await docker(d, ["volume", "create", "evvol"]);
  await docker(d, ["volume", "rm", "evvol"]);
  const vols = await docker(d, [
    "events",
    "--since",
    String(t0),
    "--until",
    String(Math.ceil(Date.now() / 1000) + 1),
    "--filter",
    "type=volume",
    "--filter",
    "volume=evvol",
    "--format",
    "{{.Action}} {{.Actor.ID}}",
  ]);
  assert.deepEqual(vols.stdout.trim().split("\n"), ["create evvol", "destroy evvol"]);
  const bad = await raw("GET", `/v1.41/events?filters=${encodeURIComponent('{"nonsense":["x"]}')}`);
  assert.equal(bad.status, 400);
  await docker(d, ["rm", "ev1", "ev2"]);
});

test("restart policies survive a pierd restart; a user-stopped unless-stopped stays stopped", async () => {
  const run = async (name: string, policy: string, cmd: string) => {
    const r = await docker(d, ["run", "-d", "--name", name, "--restart", policy, reg.image, "sh", "-c", cmd]);
    assert.equal(r.status, 0, r.stderr);
  };
  await run("always1", "always", "sleep 1000");
  await run("unless1", "unless-stopped", "sleep 1000");
  await run("unless2", "unless-stopped", "sleep 1000");
  await docker(d, ["stop", "-t", "1", "always1"]);
  await docker(d, ["stop", "-t", "1", "unless1"]);
  const victim = await idOf("unless2");
  await d.crash();
  // Killing one while pierd is down: it finds it exited at start.
  const pid = Number(readFileSync(join(d.execRoot, "containers", victim, "pid"), "utf8").trim());
  process.kill(pid, "SIGKILL");
  await sleep(300);
  await d.restart();
  const state = async (n: string) =>
    (await docker(d, ["inspect", "--format", "{{.State.Status}}", n])).stdout.trim();
  const until = Date.now() + 10000;
  while ((await state("always1")) !== "running" || (await state("unless2")) !== "running") {
    if (Date.now() > until) break;
    await sleep(100);
  }
  assert.equal(await state("always1"), "running", "always comes back at daemon start");
  assert.equal(await state("unless2"), "running", "unless-stopped that died comes back");
  assert.equal(await state("unless1"), "exited", "a user-stopped unless-stopped stays stopped");
  await docker(d, ["rm", "-f", "always1", "unless1", "unless2"]);
});

async function idOf(name: string): Promise<string> {
  return (await docker(d, ["inspect", "--format", "{{.Id}}", name])).stdout.trim();
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
test("TCP only with TLS and client certificates: docker over TLS works, plain TCP and cert-less clients are refused", async () => {
  const { makeTempDir, removeTempDir } = await import("../../testing/busybox.js");
  const dir = await makeTempDir("pier-ops-tls-");
  let t: TestDaemon | undefined;
  try {
    const { server, client } = await writeDockerTlsCerts(dir);
    // Without certificates, or asked for plain TCP, pierd refuses to start.
    const noCerts = await runCommand(process.execPath, [
      PIERD_MAIN,
      "--root",
      join(dir, "r"),
      "--exec-root",
      join(dir, "x"),
      "--tls-listen",
      "127.0.0.1:0",
    ]);
    assert.equal(noCerts.status, 1);
    assert.match(noCerts.stderr, /--tls-listen needs --tlscacert, --tlscert and --tlskey/);
    const plain = await runCommand(process.execPath, [
      PIERD_MAIN,
      "--root",
      join(dir, "r"),
      "--exec-root",
      join(dir, "x"),
      "-H",
      "tcp://127.0.0.1:2375",
    ]);
    assert.equal(plain.status, 1);
    assert.match(plain.stderr, /plain TCP is refused/);
    t = await startTestDaemon([
      "--tls-listen",
      "127.0.0.1:0",
      "--tlscacert",
      join(dir, "ca.pem"),
      "--tlscert",
      join(server, "cert.pem"),
      "--tlskey",
      join(server, "key.pem"),
    ]);
    const addr = /"tlsListen":"([^"]+)"/.exec(t.stderr())?.[1];
    assert.ok(addr, t.stderr());
    const env = { ...process.env, DOCKER_CONFIG: join(dir, "docker-config"), DOCKER_HOST: `tcp://${addr}` };
    const ok = await runCommand(requireDocker(), ["version", "--format", "{{.Server.APIVersion}}"], {
      env: { ...env, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: client },
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), "1.41");
    const noTls = await runCommand(requireDocker(), ["version", "--format", "{{.Server.APIVersion}}"], {
      env,
    });
    assert.notEqual(noTls.status, 0, "plain HTTP over the TLS port gets no answer");
    assert.equal(noTls.stdout.trim(), "");
    // TLS without a client certificate: the handshake is refused.
    const { connect: tlsConnect } = await import("node:tls");
    const [host, port] = [
      addr.slice(0, addr.lastIndexOf(":")),
      Number(addr.slice(addr.lastIndexOf(":") + 1)),
    ];
    const refused = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host, port, ca: readFileSync(join(dir, "ca.pem")), servername: host }, () => {
        s.write("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n");
      });
      let got = "";
      s.on("data", (c: Buffer) => {
        got += c.toString();
      });
      s.on("error", (e) => resolve(`error: ${e.message}`));
      s.on("close", () => resolve(got ? `answered: ${got}` : "closed"));
    });
    assert.doesNotMatch(refused, /answered: HTTP\/1.1 200/);
  } finally {
    await t?.stop();
    await removeTempDir(dir);
  }
});

test("pier CLI: pause/unpause, stats, events, images, tag, rmi, volume, system", async () => {
  const ok = async (args: string[]) => {
    const r = await pier(d, args);
    assert.equal(r.status, 0, `pier ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const t0 = Math.floor(Date.now() / 1000) - 1;
  await ok([
    "run",
    "-d",
    "--name",
    "pc",
    reg.image,
    "sh",
    "-c",
    "i=0; while true; do echo $i; i=$((i+1)); sleep 0.05; done",
  ]);
  assert.equal(await ok(["pause", "pc"]), "pc\n");
  assert.equal((await docker(d, ["inspect", "--format", "{{.State.Status}}", "pc"])).stdout.trim(), "paused");
  const stats = await ok(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "pc"]);
  assert.match(stats, /^pc [1-9]\d*\n$/);
  const table = await ok(["stats", "--no-stream"]);
  assert.match(table, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT/);
  await ok(["unpause", "pc"]);
  const again = await pier(d, ["unpause", "pc"]);
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /is not paused/);
  await ok(["rm", "-f", "pc"]);
  const events = await ok([
    "events",
    "--since",
    String(t0),
    "--until",
    String(Math.ceil(Date.now() / 1000) + 1),
    "--filter",
    "container=pc",
    "--format",
    "{{.Action}}",
  ]);
  assert.deepEqual(events.trim().split("\n"), [
    "create",
    "start",
    "pause",
    "unpause",
    "kill",
    "die",
    "destroy",
  ]);
  const images = await ok(["images", "--format", "{{.Repository}}:{{.Tag}}"]);
  assert.match(images, /busybox:latest/);
  await ok(["tag", reg.image, "piertag:1"]);
  assert.match(await ok(["images", "--format", "json"]), /"Repository":"piertag",.*"Tag":"1"/);
  assert.equal(await ok(["rmi", "piertag:1"]), "Untagged: piertag:1\n");
  const missing = await pier(d, ["rmi", "nosuch:1"]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /No such image: nosuch:1/);
  assert.equal(await ok(["volume", "create", "--label", "k=v", "pv"]), "pv\n");
  assert.match(await ok(["volume", "ls"]), /^DRIVER\s+VOLUME NAME\nlocal\s+pv$/m);
  assert.equal(await ok(["volume", "ls", "-q", "--filter", "label=k=v"]), "pv\n");
  assert.match(await ok(["volume", "inspect", "--format", "{{.Name}} {{.Labels.k}}", "pv"]), /^pv v\n$/);
  await ok(["run", "-d", "--name", "pvuser", "-v", "pv:/x", reg.image, "sleep", "100"]);
  const inUse = await pier(d, ["volume", "rm", "pv"]);
  assert.notEqual(inUse.status, 0);
  assert.match(inUse.stderr, /volume is in use/);
  await ok(["rm", "-f", "pvuser"]);
  assert.match(
    await ok(["system", "info", "--format", "{{.Driver}} {{.CgroupVersion}}"]),
    /^(overlay|copy) [12]\n$/,
  );
  assert.match(await ok(["system", "info"]), /^Server Version: /m);
  assert.match(await ok(["system", "df"]), /^Local Volumes\s+1\s+0\s/m);
  await ok(["run", "--name", "pdone", reg.image, "true"]);
  const prune = await ok(["system", "prune", "-f", "--volumes"]);
  assert.match(prune, /Deleted Containers:\n[a-f0-9]{64}\n/);
  assert.match(prune, /Deleted Volumes:\npv\n/);
  assert.equal(await ok(["volume", "ls", "-q"]), "");
  assert.equal((await docker(d, ["ps", "-aq"])).stdout.trim(), "");
});
