// Engine rows of bench/checkpoint (run by run.sh): pierd (through the docker CLI and pier's API)
// against podman 4.3 with runc, the same CRIU, the same busybox image, a counting container
// holding MB megabytes of touched memory (none, 50 MB, 500 MB): checkpoint and restore in place, export to an archive
// and import from it (a new container), and pierd's migration downtime to a second pierd (with
// its phases). Alternating engines, medians. argv = repo, work dir, iterations.
//
// The memory is held by a shell that does not fork again once it touched it; a second, small
// shell counts. (A shell holding the memory and forking `sleep` 20 times a second was caught
// between fork and exec by a good part of the dumps, whose child then held a second copy of
// the pages: the same container's dump was 500 MB or 1 GB by chance, for either engine.)
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const [repo, work, itersArg] = process.argv.slice(2);
const iterations = Number(itersArg);
const { busyboxRegistry, startTestDaemon } = await import(join(repo, "dist/testing/engine.js"));
const { api } = await import(join(repo, "dist/testing/checkpoints.js"));

/** Runs a command without blocking this process (it serves the registry); resolves with its time. */
function run(cmd, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    child.stderr.on("data", (c) => {
      out += c;
    });
    child.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === 0) resolve({ ms, out });
      else reject(new Error(`${cmd} ${args.join(" ")}: ${out}`));
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const reg = await busyboxRegistry();
const a = await startTestDaemon();
const b = await startTestDaemon();
const pmDir = join(work, "podman");
const env = { ...process.env };
const pmGlobals = [
  "--root",
  join(pmDir, "storage"),
  "--runroot",
  join(pmDir, "run"),
  // libpod's own state too (default /run/libpod, which other podman users on the host share)
  "--tmpdir",
  join(pmDir, "tmp"),
  "--storage-driver",
  "overlay",
  "--cgroup-manager",
  "cgroupfs",
  "--events-backend",
  "file",
  "--runtime",
  "runc",
];
const pm = (...args) => run("podman", [...pmGlobals, ...args], env);
const dk = (d, ...args) =>
  run("docker", args, {
    ...process.env,
    DOCKER_HOST: `unix://${d.dockerSocket}`,
    DOCKER_CONFIG: join(d.dir, "dc"),
  });
const ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];
const results = {};
const add = (key, ms) => {
  results[key] ??= [];
  results[key].push(ms);
};

/** Waits until the container's log says `ready` (the memory is touched; the count began before). */
async function counting(logs) {
  for (let i = 0; i < 3000; i++) {
    if (/^ready$/m.test((await logs()).out)) return;
    await sleep(20);
  }
  throw new Error("the container never counted");
}

try {
  for (const d of [a, b]) await dk(d, "pull", reg.image);
  await pm("pull", "--tls-verify=false", reg.image);
  // PIER_BENCH_SIZES=0,50,500 (default): megabytes of touched memory.
  for (const mb of (process.env.PIER_BENCH_SIZES ?? "0,50,500").split(",").map(Number)) {
    const cmd = `(i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done) & x=$(head -c ${mb * 1048576} /dev/zero | tr '\\0' a); echo ready; while true; do sleep 3600; done`;
    for (let i = 0; i < iterations; i++) {
      const tag = mb ? `${mb} MB` : "counter";
      // pierd
      {
        const n = `pb${mb}-${i}`;
        await dk(a, "run", "-d", "--name", n, reg.image, "sh", "-c", cmd);
        await counting(() => dk(a, "logs", n));
        add(`pierd   ${tag} checkpoint`, (await dk(a, "checkpoint", "create", n, "ck")).ms);
        add(`pierd   ${tag} restore`, (await dk(a, "start", "--checkpoint", "ck", n)).ms);
        // Docker keeps a checkpoint after restoring it, podman removes its own (no --keep): the
        // same disk state for both before the next row (500 MB of pages not written back).
        await dk(a, "checkpoint", "rm", n, "ck");
        const file = join(work, `${n}.tar.zst`);
        const t0 = process.hrtime.bigint();
        const ex = await api(
          a.socket,
          "POST",
          `/v1/containers/${n}/checkpoints`,
          JSON.stringify({ export: true }),
        );
        if (ex.status !== 200) throw new Error(ex.body.toString());
        writeFileSync(file, ex.body);
        add(`pierd   ${tag} export`, Number(process.hrtime.bigint() - t0) / 1e6);
        await dk(a, "rm", "-f", n);
        const t1 = process.hrtime.bigint();
        const im = await api(a.socket, "POST", "/v1/containers/import", ex.body);
        if (im.status !== 201) throw new Error(im.body.toString());
        add(`pierd   ${tag} import`, Number(process.hrtime.bigint() - t1) / 1e6);
        const mig = await api(
          a.socket,
          "POST",
          `/v1/containers/${n}/migrate`,
          JSON.stringify({ to: b.socket }),
        );
        if (mig.status !== 200) throw new Error(mig.body.toString());
        const report = JSON.parse(mig.body.toString());
        add(`pierd   ${tag} migrate downtime`, report.downtimeMs);
        for (const [phase, ms] of Object.entries(report.phases ?? {}))
          add(`pierd   ${tag} migrate  ${phase.replace(/Ms$/, "")}`, ms);
        await dk(b, "rm", "-f", n);
      }
      // podman
      {
        const n = `pp${mb}-${i}`;
        await pm("run", "-d", ...ULIMITS, "--name", n, reg.image, "sh", "-c", cmd);
        await counting(() => pm("logs", n));
        add(`podman  ${tag} checkpoint`, (await pm("container", "checkpoint", n)).ms);
        add(`podman  ${tag} restore`, (await pm("container", "restore", n)).ms);
        const file = join(work, `${n}.tar.zst`);
        add(`podman  ${tag} export`, (await pm("container", "checkpoint", "--export", file, n)).ms);
        await pm("rm", "-f", n);
        add(`podman  ${tag} import`, (await pm("container", "restore", "--import", file)).ms);
        await pm("rm", "-f", "-t", "0", n);
      }
    }
  }
  console.log(`\nengine: median of ${iterations} (ms), alternating pierd and podman 4.3 (runc), same CRIU:`);
  for (const [k, v] of Object.entries(results))
    console.log(`${k.padEnd(34)} ${median(v).toFixed(0).padStart(6)}`);
} finally {
  await run("podman", [...pmGlobals, "rm", "-af", "-t", "0"], env).catch(() => {});
  await run("podman", [...pmGlobals, "system", "reset", "-f"], env).catch(() => {});
  await a.stop();
  await b.stop();
  await reg.stop();
}
