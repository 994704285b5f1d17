// Driver of bench/engine/run.sh: see the header there. Arguments: <build dir> <rounds>.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [build, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 7);
const ts = await import(join(build, "testing", "engine.js"));

function run(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    let err = "";
    c.stdout.on("data", (d) => (out += d));
    c.stderr.on("data", (d) => (err += d));
    c.on("error", reject);
    c.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")}: ${code} ${err}`)),
    );
  });
}

/**
 * Times `f` after a quiet moment: both engines leave work behind a command (podman's conmon runs
 * `podman container cleanup`, pierd starts a spare monitor), which must not land in the other's
 * measurement.
 */
async function timed(f) {
  await new Promise((r) => setTimeout(r, 300));
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function rssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
  } catch {
    return 0;
  }
}

/** The share of CPU time the whole machine spent idle over `ms` (from /proc/stat). */
async function idleShare(ms) {
  const read = () => {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3] + f[4], total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  return b.total > a.total ? (b.idle - a.idle) / (b.total - a.total) : 1;
}

function pidsByComm(name) {
  const out = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/comm`, "utf8").trim() === name) out.push(Number(p));
    } catch {}
  }
  return out;
}

const reg = await ts.busyboxRegistry();
const image = reg.image;
const podImage = "localhost/busybox:latest";
const pdir = await mkdtemp(join(tmpdir(), "pier-bench-podman-"));
// Run-time state on a tmpfs for both, as their defaults (/run/pier, /run/containers/storage)
// are on the hosts they are made for; images, containers' layers and logs stay on disk.
const runfs = join(pdir, "runfs");
mkdirSync(runfs);
await run("mount", ["-t", "tmpfs", "-o", "mode=0755", "tmpfs", runfs]);
const pierd = await ts.startTestDaemon([], { execRoot: join(runfs, "pier") });
const podmanVersion = (await run("podman", ["--version"])).trim().split(" ").pop();
const runcVersion = (await run("runc", ["--version"])).split("\n")[0].trim();
const podmanArgs = [
  "--root",
  join(pdir, "root"),
  "--runroot",
  join(runfs, "podman"),
  "--storage-driver",
  "overlay",
  "--cgroup-manager",
  "cgroupfs",
  "--events-backend",
  "file",
  "--tmpdir",
  join(pdir, "tmp"),
  // crun refuses this machine's hybrid cgroup layout; runc (podman's other runtime) works.
  "--runtime",
  "runc",
];
// podman's default ulimits (nofile, nproc 1048576) exceed the hard limits of sandboxed hosts.
writeFileSync(
  join(pdir, "containers.conf"),
  '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n',
);
process.env.CONTAINERS_CONF = join(pdir, "containers.conf");
const podmanSock = join(pdir, "podman.sock");
const service = spawn("podman", [...podmanArgs, "system", "service", "--time=0", `unix://${podmanSock}`], {
  stdio: ["ignore", "ignore", "pipe"],
});
let serviceLog = "";
service.stderr.on("data", (d) => (serviceLog += d));
const pierEnv = { DOCKER_HOST: `unix://${pierd.dockerSocket}`, DOCKER_CONFIG: join(pdir, "dc1") };
const podEnv = { DOCKER_HOST: `unix://${podmanSock}`, DOCKER_CONFIG: join(pdir, "dc2") };
const pierCli = { PIER_HOST: pierd.socket };
// The native front end of the pier CLI (see native/front-end.c), beside dist/.
const pierBin = join(build, "..", "native", "build", "pier");
try {
  for (let i = 0; i < 100; i++) {
    try {
      await run("docker", ["version"], podEnv);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await run("docker", ["pull", image], pierEnv);
  // podman 4.3's compat service answers 409 on attach for images pulled from a plain-HTTP
  // registry here, so podman gets the same busybox root filesystem through `podman import`.
  const bb = await import(join(build, "testing", "busybox.js"));
  await bb.writeBusyboxRootfs(join(pdir, "rootfs"));
  await run("tar", ["-C", join(pdir, "rootfs"), "-cf", join(pdir, "bb.tar"), "."]);
  await run("podman", [...podmanArgs, "import", "--change", "CMD sh", join(pdir, "bb.tar"), podImage]);
  // warm both paths once (this also starts pier's resident CLI service)
  await run("docker", ["run", "--rm", "--network", "none", image, "true"], pierEnv);
  await run(pierBin, ["run", "--rm", "--network", "none", image, "true"], pierCli);
  // The compat service of Debian's podman 4.3 answers some attaches with 409 on some hosts: the
  // service rows are then reported as unavailable instead of failing the whole run.
  let serviceError = "";
  await run("docker", ["run", "--rm", "--network", "none", podImage, "true"], podEnv).catch((e) => {
    serviceError = e.message.trim().split("\n").pop();
  });

  const res = {
    dockerPier: [],
    dockerPodman: [],
    cliPier: [],
    cliPodman: [],
    fiftyPier: [],
    fiftyPodman: [],
    fiftyCliPier: [],
    fiftyCliPodman: [],
  };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? ["b", "a"] : ["a", "b"];
    for (const o of order) {
      if (o === "a")
        res.dockerPier.push(
          await timed(() => run("docker", ["run", "--rm", "--network", "none", image, "true"], pierEnv)),
        );
      else if (!serviceError)
        res.dockerPodman.push(
          await timed(() => run("docker", ["run", "--rm", "--network", "none", podImage, "true"], podEnv)),
        );
    }
    for (const o of order) {
      if (o === "a")
        res.cliPier.push(
          await timed(() => run(pierBin, ["run", "--rm", "--network", "none", image, "true"], pierCli)),
        );
      else
        res.cliPodman.push(
          await timed(() =>
            run("podman", [...podmanArgs, "run", "--rm", "--network", "none", podImage, "true"]),
          ),
        );
    }
  }
  const memory = {};
  /**
   * Waits (up to 60 s) until the previous run's background work is done: podman's conmon starts
   * a `podman container cleanup` process for each exited container, 50 of them after a
   * `rm -f`, which would otherwise run during the next measurement.
   */
  const quiet = async () => {
    for (let i = 0; i < 600; i++) {
      const busy = pidsByComm("podman").filter((p) => p !== service.pid);
      if (busy.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // The kernel too tears down 50 network namespaces in the background (either side's).
    for (let i = 0; i < 120; i++) if ((await idleShare(250)) >= 0.9) break;
  };
  /** 50 containers started one after the other with `start(i)`, then removed with `remove(ids)`. */
  const fifty = async (start, remove, afterStart) => {
    await quiet();
    const ids = [];
    const ms = await timed(async () => {
      for (let i = 0; i < 50; i++) ids.push((await start()).trim());
    });
    afterStart?.();
    return ms + (await timed(() => remove(ids)));
  };
  const fiftyRuns = {
    fiftyPier: () =>
      fifty(
        () => run("docker", ["run", "-d", "--network", "none", image, "sleep", "600"], pierEnv),
        (ids) => run("docker", ["rm", "-f", ...ids], pierEnv),
        () => recordMemory("pier"),
      ),
    fiftyPodman: () =>
      fifty(
        () => run("docker", ["run", "-d", "--network", "none", podImage, "sleep", "600"], podEnv),
        (ids) => run("docker", ["rm", "-f", ...ids], podEnv),
        () => recordMemory("podman"),
      ),
    fiftyCliPier: () =>
      fifty(
        () => run(pierBin, ["run", "-d", "--network", "none", image, "sleep", "600"], pierCli),
        (ids) => run(pierBin, ["rm", "-f", ...ids], pierCli),
      ),
    fiftyCliPodman: () =>
      fifty(
        () => run("podman", [...podmanArgs, "run", "-d", "--network", "none", podImage, "sleep", "600"]),
        // -t 0: kill at once, as docker rm -f and pier rm -f do (podman waits 10 s otherwise).
        (ids) => run("podman", [...podmanArgs, "rm", "-f", "-t", "0", ...ids]),
      ),
  };
  // With 50 running containers: the daemon and the per-container monitors.
  function recordMemory(label) {
    if (memory[label]) return;
    // Only this run's: other pier or podman users on the host have monitors too. pierd's are
    // its children (the spare one) or hold files of its state directories open (a monitor
    // takes its arguments on stdin); podman's conmons name pdir on their command line.
    const mine = (pid, marks) => {
      try {
        const ppid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
        if (ppid === pierd.proc.pid) return true;
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        const files = readdirSync(`/proc/${pid}/fd`).map((fd) => {
          try {
            return readlinkSync(`/proc/${pid}/fd/${fd}`);
          } catch {
            return "";
          }
        });
        return marks.some((m) => cmd.includes(m) || files.some((f) => f.startsWith(m)));
      } catch {
        return false;
      }
    };
    const monitors =
      label === "pier"
        ? pidsByComm("pier-monitor").filter((p) => mine(p, [pierd.root, pierd.execRoot]))
        : pidsByComm("conmon").filter((p) => mine(p, [pdir]));
    const per = monitors.map(rssKb).filter((x) => x > 0);
    memory[label] = {
      daemonKb: label === "pier" ? rssKb(pierd.proc.pid) : rssKb(service.pid),
      monitors: per.length,
      monitorMedianKb: per.length ? median(per) : 0,
      // Every monitor, pierd's spare one (started ahead for the next container) included.
      monitorsTotalKb: per.reduce((a, b) => a + b, 0),
    };
  }
  // Three alternating repetitions of each 50-container path (one run is a noisy sample).
  for (let r = 0; r < 3; r++) {
    for (const pair of [
      ["fiftyPier", "fiftyPodman"],
      ["fiftyCliPier", "fiftyCliPodman"],
    ]) {
      for (const key of r % 2 ? [...pair].reverse() : pair) {
        if (key === "fiftyPodman" && serviceError) continue;
        res[key].push(await fiftyRuns[key]());
      }
    }
  }
  const line = (name, a, b) => {
    if (b.length === 0) {
      console.log(
        `${name.padEnd(48)} pier ${median(a).toFixed(0).padStart(6)} ms   podman service unavailable: ${serviceError}`,
      );
      return;
    }
    const ma = median(a);
    const mb = median(b);
    const range = (xs) => `[${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}]`;
    console.log(
      `${name.padEnd(48)} pier ${ma.toFixed(0).padStart(6)} ms ${range(a).padEnd(13)} podman ${mb.toFixed(0).padStart(6)} ms ${range(b).padEnd(13)} podman/pier ${(mb / ma).toFixed(2)}x`,
    );
  };
  console.log(`rounds: ${rounds} (medians [ranges])`);
  line("docker run --rm true (Docker API socket)", res.dockerPier, res.dockerPodman);
  line("pier run --rm true vs podman run --rm true", res.cliPier, res.cliPodman);
  line("50 x docker run -d, then docker rm -f (3 runs)", res.fiftyPier, res.fiftyPodman);
  line("50 x pier|podman run -d, then rm -f (3 runs)", res.fiftyCliPier, res.fiftyCliPodman);
  memory.podman ??= { daemonKb: 0, monitors: 0, monitorMedianKb: 0, monitorsTotalKb: 0 };
  console.log(
    `podman ${podmanVersion} runs runc (${runcVersion}): crun, its default, refuses this host's hybrid cgroup layout; pierd runs pier-runtime`,
  );
  console.log(
    `daemon RSS: pierd ${memory.pier.daemonKb} kB, podman service ${memory.podman.daemonKb} kB; ` +
      `per-container monitor RSS (median of ${memory.pier.monitors}/${memory.podman.monitors}): ` +
      `pier-monitor ${memory.pier.monitorMedianKb} kB, conmon ${memory.podman.monitorMedianKb} kB ` +
      `(conmon/pier-monitor ${(memory.podman.monitorMedianKb / Math.max(1, memory.pier.monitorMedianKb)).toFixed(2)}x)`,
  );
  const pierTotal = memory.pier.daemonKb + memory.pier.monitorsTotalKb;
  const podmanTotal = memory.podman.daemonKb + memory.podman.monitorsTotalKb;
  console.log(
    `with 50 containers, daemon + every monitor: pierd + ${memory.pier.monitors} pier-monitor (50 + the spare one started ahead) ${pierTotal} kB, ` +
      `podman service + ${memory.podman.monitors} conmon ${podmanTotal} kB (pier/podman ${(pierTotal / Math.max(1, podmanTotal)).toFixed(2)}x)`,
  );
} finally {
  service.kill("SIGTERM");
  await pierd.stop();
  await reg.stop();
  await run("podman", [...podmanArgs, "rm", "-af"]).catch(() => {});
  await run("podman", [...podmanArgs, "system", "reset", "-f"]).catch(() => {});
  await run("umount", ["-l", runfs]).catch(() => {});
  await rm(pdir, { recursive: true, force: true }).catch(() => {});
}
