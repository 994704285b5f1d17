// Benchmark of pier-runtime against runc and crun: `create` + `start` + `delete` of a busybox
// bundle running /bin/true, and `run` of the same. Tools alternate (A B C A B C …) so that the
// machine's noise falls on all of them alike; medians, ranges and peak RSS are reported, with
// ratios to runc and crun. "pier-runtime" is the native front end with the resident runtime
// service (what podman runs), warm; "pier-runtime, cold" is its first call once the service left
// after going idle (a Node.js start, whose floor `node -e 0` is printed beside it; the service
// loads as one script with the code cache an earlier service left); "one process"
// is the Node.js command line alone (PIER_RUNTIME_DIRECT=1). pier-runtime's memory is the front
// end's peak plus the resident service's peak (VmHWM), which every command uses. A failed
// command fails the benchmark with its error (create's from its --log file). Run through run.sh
// (it builds what is needed and sets up the mount namespace crun needs).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const [repoDir, workDir, iterations = "20"] = process.argv.slice(2);
const N = Number(iterations);
const COLD = Math.max(3, Math.min(7, Math.ceil(N / 3)));
const bundle = join(workDir, "bundle");
// A service of this benchmark's own (the front end honours the socket override), so that the
// cold samples find it gone and the memory figure is this service's.
const serviceSocket = join(workDir, "runtime-service.sock");
process.env.PIER_RUNTIME_SERVICE_SOCKET = serviceSocket;

const tools = [
  { name: "pier-runtime", cmd: [join(repoDir, "native/build/pier-runtime")] },
  { name: "pier-runtime (one process)", cmd: [process.execPath, join(repoDir, "dist/runtime/cli/main.js")] },
  { name: "runc", cmd: ["runc"] },
  { name: "crun", cmd: ["crun"] },
].filter((t) => t.name.startsWith("pier") || spawnSync("which", [t.cmd[0]]).status === 0);

function once(tool, args, env = process.env) {
  const root = join(workDir, `state-${tool.name.replace(/\W+/g, "-")}`);
  const [cmd, ...pre] = tool.cmd;
  // A created container keeps the stdio it was given: hand `create` none, or we would wait for
  // it; its errors go to its --log file, as a shim reads runc's.
  const log = args[0] === "create" ? join(workDir, "create.log") : undefined;
  const logArgs = log ? ["--log", log, "--log-format", "json"] : [];
  const stdio = log ? "ignore" : ["ignore", "ignore", "pipe"];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, [...pre, "--root", root, ...logArgs, ...args], { stdio, encoding: "utf8", env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    const why = log ? (existsSync(log) ? readFileSync(log, "utf8") : "(no log written)") : r.stderr;
    throw new Error(`${tool.name} ${args.join(" ")}: status ${r.status}: ${why}`);
  }
  if (log) rmSync(log, { force: true });
  return ms;
}

function peakRss(tool, args) {
  const root = join(workDir, `state-${tool.name.replace(/\W+/g, "-")}`);
  const out = join(workDir, "rss");
  const r = spawnSync("/usr/bin/time", ["-o", out, "-f", "%M", ...tool.cmd, "--root", root, ...args], {
    stdio: "ignore",
  });
  if (r.status !== 0)
    throw new Error(`${tool.name} ${args.join(" ")}: status ${r.status} (under /usr/bin/time)`);
  return Number(readFileSync(out, "utf8").trim().split("\n").pop());
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const range = (xs) => `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}`;

/** The pid of this benchmark's runtime service, or undefined when none runs. */
function servicePid() {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (
        argv.some((a) => /runtime\/service\/(main\.js|service\.cjs)$/.test(a)) &&
        argv.includes(serviceSocket)
      )
        return pid;
    } catch {}
  }
  return undefined;
}

/** Waits (up to 30 s) until the service left: it removes its socket first, then exits. */
function waitServiceGone() {
  const until = Date.now() + 30_000;
  while (existsSync(serviceSocket) || servicePid() !== undefined) {
    if (Date.now() > until) throw new Error("the runtime service did not leave when idle");
    spawnSync("sleep", ["0.05"]);
  }
}

const pier = tools.find((t) => t.name === "pier-runtime");
const peers = tools.filter((t) => t.name === "runc" || t.name === "crun");
let k = 0;

// Cold: the first call once the service went idle (a short idle time here), alternating with the
// peers' `run` and with a bare Node.js start, the floor of any call that has to start Node.js.
// A service leaves V8's code cache of what it ran for the next one (see scripts/service-loader.cjs):
// the samples are cold starts with it, as after any earlier use; the very first start after a
// build (none yet) is printed on its own.
const cold = { pier: [], node: [], ...Object.fromEntries(peers.map((t) => [t.name, []])) };
const coldEnv = { ...process.env, PIER_RUNTIME_SERVICE_IDLE_MS: "300" };
rmSync(`${serviceSocket}.code-cache`, { force: true });
waitServiceGone();
const firstEver = once(pier, ["run", "--bundle", bundle, `bench-cold-${process.pid}-${k++}`], coldEnv);
for (let i = 0; i < COLD; i++) {
  waitServiceGone();
  cold.pier.push(once(pier, ["run", "--bundle", bundle, `bench-cold-${process.pid}-${k++}`], coldEnv));
  for (const t of peers)
    cold[t.name].push(once(t, ["run", "--bundle", bundle, `bench-cold-${process.pid}-${k++}`]));
  const t0 = process.hrtime.bigint();
  spawnSync(process.execPath, ["-e", "0"]);
  cold.node.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
waitServiceGone();

// Warm: every tool in turn, the service started by the first (discarded) iterations.
const results = new Map(tools.map((t) => [t.name, { cycle: [], run: [], rssCreate: 0, rssRun: 0 }]));
for (let i = 0; i < N + 2; i++) {
  for (const tool of tools) {
    const id = `bench-${process.pid}-${k++}`;
    const cycle =
      once(tool, ["create", "--bundle", bundle, id]) +
      once(tool, ["start", id]) +
      once(tool, ["delete", "--force", id]);
    const run = once(tool, ["run", "--bundle", bundle, `${id}r`]);
    if (i >= 2) {
      results.get(tool.name).cycle.push(cycle);
      results.get(tool.name).run.push(run);
    }
  }
}
for (const tool of tools) {
  const id = `bench-rss-${process.pid}-${k++}`;
  const r = results.get(tool.name);
  r.rssCreate = peakRss(tool, ["create", "--bundle", bundle, id]);
  once(tool, ["delete", "--force", id]);
  r.rssRun = peakRss(tool, ["run", "--bundle", bundle, `${id}r`]);
}
// The resident service's memory, used by every command: its peak (VmHWM) and now (VmRSS).
const svc = servicePid();
const status = svc ? readFileSync(`/proc/${svc}/status`, "utf8") : "";
const serviceHwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
const serviceRss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
if (!svc) throw new Error("the runtime service is not running after the warm iterations");

const mib = (kb) => (kb / 1024).toFixed(1);
const runc = results.get("runc");
const crun = results.get("crun");
console.log(
  `pier-runtime vs runc vs crun, ${N} alternating iterations (medians [ranges]), /bin/true in busybox; load: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
);
console.log(
  "tool                       create+start+delete                  run                                  peak RSS create / run",
);
for (const tool of tools) {
  const r = results.get(tool.name);
  const c = median(r.cycle);
  const u = median(r.run);
  const ratio = (x, key) =>
    [
      runc && `${(x / median(runc[key])).toFixed(2)}x runc`,
      crun && `${(x / median(crun[key])).toFixed(2)}x crun`,
    ]
      .filter(Boolean)
      .join(", ");
  const rss =
    tool === pier
      ? `${mib(r.rssCreate + serviceHwm)} / ${mib(r.rssRun + serviceHwm)} MiB (front end ${mib(r.rssCreate)} / ${mib(r.rssRun)} + service ${mib(serviceHwm)})`
      : `${mib(r.rssCreate)} / ${mib(r.rssRun)} MiB`;
  console.log(
    `${tool.name.padEnd(26)} ${`${c.toFixed(1)} ms [${range(r.cycle)}] (${ratio(c, "cycle")})`.padEnd(37)}${`${u.toFixed(1)} ms [${range(r.run)}] (${ratio(u, "run")})`.padEnd(37)}${rss}`,
  );
}
const coldLine = (name, xs) => `${name} ${median(xs).toFixed(1)} ms [${range(xs)}]`;
console.log(
  `cold first call (service gone after going idle; ${COLD} alternating samples): ${[
    coldLine("pier-runtime run", cold.pier),
    ...peers.map((t) => coldLine(`${t.name} run`, cold[t.name])),
    coldLine("bare `node -e 0`", cold.node),
  ].join("; ")}; the first start after a build (no code cache yet) ${firstEver.toFixed(1)} ms`,
);
console.log(
  `pier-runtime's resident service: peak ${mib(serviceHwm)} MiB, now ${mib(serviceRss)} MiB RSS (one per host and user, leaves after 60 s idle)`,
);
