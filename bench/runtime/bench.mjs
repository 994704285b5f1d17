// Benchmark of pier-runtime against runc and crun: `create` + `start` + `delete` of a busybox
// bundle running /bin/true, and `run` of the same. Tools alternate (A B C A B C …) so that the
// machine's noise falls on all of them alike; medians and peak RSS are reported, with ratios to
// runc. "pier-runtime" is the native front end with the resident runtime service (what podman
// runs); "one process" is the Node.js command line alone (PIER_RUNTIME_DIRECT=1). Run through
// run.sh (it builds what is needed and sets up the mount namespace crun needs).
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [repoDir, workDir, iterations = "20"] = process.argv.slice(2);
const N = Number(iterations);
const bundle = join(workDir, "bundle");

const tools = [
  { name: "pier-runtime", cmd: [join(repoDir, "native/build/pier-runtime")] },
  { name: "pier-runtime (one process)", cmd: [process.execPath, join(repoDir, "dist/runtime/cli/main.js")] },
  { name: "runc", cmd: ["runc"] },
  { name: "crun", cmd: ["crun"] },
].filter((t) => t.name.startsWith("pier") || spawnSync("which", [t.cmd[0]]).status === 0);

function once(tool, args) {
  const root = join(workDir, `state-${tool.name.replace(/\W+/g, "-")}`);
  const [cmd, ...pre] = tool.cmd;
  const t0 = process.hrtime.bigint();
  // A created container keeps the stdio it was given: hand `create` none, or we would wait for it.
  const stdio = args[0] === "create" ? "ignore" : ["ignore", "ignore", "pipe"];
  const r = spawnSync(cmd, [...pre, "--root", root, ...args], { stdio, encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${tool.name} ${args.join(" ")}: status ${r.status}: ${r.stderr}`);
  return ms;
}

function peakRss(tool, args) {
  const root = join(workDir, `state-${tool.name.replace(/\W+/g, "-")}`);
  const out = join(workDir, "rss");
  spawnSync("/usr/bin/time", ["-o", out, "-f", "%M", ...tool.cmd, "--root", root, ...args], {
    stdio: "ignore",
  });
  return Number(readFileSync(out, "utf8").trim().split("\n").pop());
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const results = new Map(tools.map((t) => [t.name, { cycle: [], run: [], rssCreate: 0, rssRun: 0 }]));
let k = 0;
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
// The resident service's memory, shared by every command (and by every container it created).
let serviceRss = 0;
for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("runtime/service/main.js")) continue;
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    serviceRss = Math.max(serviceRss, Number(m?.[1] ?? 0));
  } catch {}
}
const base = results.get("runc");
console.log(`pier-runtime vs runc vs crun, ${N} alternating iterations (medians), /bin/true in busybox`);
console.log("tool                     create+start+delete   run        peak RSS create / run");
for (const tool of tools) {
  const r = results.get(tool.name);
  const c = median(r.cycle);
  const u = median(r.run);
  const ratio = (x, b) => (b ? ` (${(x / b).toFixed(2)}x runc)` : "");
  console.log(
    `${tool.name.padEnd(24)} ${`${c.toFixed(1)} ms${ratio(c, base && median(base.cycle))}`.padEnd(22)} ${`${u.toFixed(1)} ms${ratio(u, base && median(base.run))}`.padEnd(26)} ${(r.rssCreate / 1024).toFixed(1)} / ${(r.rssRun / 1024).toFixed(1)} MiB`,
  );
}
console.log(
  `pier-runtime's resident service: ${(serviceRss / 1024).toFixed(1)} MiB RSS (one per host, exits when idle)`,
);
