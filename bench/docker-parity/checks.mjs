// The docker CLI checks of issue #15's scope (resources, security, init/stop, healthchecks, the
// verbs, run behaviours): each runs stock `docker` commands against one Docker API socket and
// says whether the engine behind it did what dockerd does. Used by run.mjs for pierd and for
// podman's Docker-compatible service alike. A check gets `dk(args)` (the docker CLI against the
// socket: {status, out, err}), `img` (a busybox image there) and a fresh `name` per check.

const CG = {
  memory: "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
  memsw:
    "cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null || echo $(( $(cat /sys/fs/cgroup/memory.swap.max) + $(cat /sys/fs/cgroup/memory.max) ))",
  reservation:
    "cat /sys/fs/cgroup/memory.low 2>/dev/null || cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes",
  quota:
    "cat /sys/fs/cgroup/cpu.max 2>/dev/null | cut -d' ' -f1 || true; cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null",
  shares: "cat /sys/fs/cgroup/cpu/cpu.shares 2>/dev/null || cat /sys/fs/cgroup/cpu.weight",
  cpuset: "cat /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null || cat /sys/fs/cgroup/cpuset.cpus",
  pids: "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max",
};
const STATUS = (field) => `grep '^${field}:' /proc/self/status | cut -f2`;

/** `docker run --rm FLAGS img sh -c SCRIPT` whose output matches `want`. */
const runOut =
  (flags, script, want) =>
  async ({ dk, img }) => {
    const r = await dk(["run", "--rm", ...flags, img, "sh", "-c", script]);
    return r.status === 0 && want.test(r.out.trim());
  };
/** `docker run --rm FLAGS img ARGS` exits with `status` (not 0: the flag is refused or fails). */
const runStatus =
  (flags, args, want) =>
  async ({ dk, img }) => {
    const r = await dk(["run", "--rm", ...flags, img, ...args]);
    return want === "nonzero" ? r.status !== 0 : r.status === want;
  };
/** A detached container `name` from `flags` and `args`; then `then` decides. Removed after. */
const detached = (flags, args, then) => async (ctx) => {
  const r = await ctx.dk(["run", "-d", "--name", ctx.name, ...flags, ctx.img, ...args]);
  if (r.status !== 0) return false;
  try {
    return await then(ctx);
  } finally {
    await ctx.dk(["rm", "-f", ctx.name]);
  }
};
const inspectIs = (flags, template, want) =>
  detached(flags, ["sleep", "60"], async ({ dk, name }) =>
    want.test((await dk(["inspect", "-f", template, name])).out.trim()),
  );
/** Polls `read` (deadline 30 s) until it is true. */
async function eventually(read) {
  const until = Date.now() + 30000;
  while (Date.now() < until) {
    if (await read()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** [name, check] pairs, in the order. */
export const CHECKS = [
  // 1. resources
  ["run --memory 64m: the cgroup's limit", runOut(["--memory", "64m"], CG.memory, /^67108864$/)],
  [
    "run --memory 64m --memory-swap 128m",
    runOut(["--memory", "64m", "--memory-swap", "128m"], CG.memsw, /^134217728$/),
  ],
  ["run --memory-reservation 32m", runOut(["--memory-reservation", "32m"], CG.reservation, /^33554432$/)],
  ["run --cpus 0.5: a 50 ms quota", runOut(["--cpus", "0.5"], CG.quota, /^50000$/m)],
  ["run --cpu-shares 512", runOut(["--cpu-shares", "512"], CG.shares, /^(512|20)$/)],
  ["run --cpuset-cpus 0", runOut(["--cpuset-cpus", "0"], CG.cpuset, /^0$/)],
  ["run --pids-limit 50", runOut(["--pids-limit", "50"], CG.pids, /^50$/)],
  [
    "run --ulimit nofile=1024:2048",
    runOut(["--ulimit", "nofile=1024:2048"], "ulimit -n; ulimit -Hn", /^1024\n2048$/),
  ],
  ["run --ulimit core=-1 (unlimited)", runOut(["--ulimit", "core=-1"], "ulimit -c", /^unlimited$/)],
  ["run --oom-score-adj 300", runOut(["--oom-score-adj", "300"], "cat /proc/self/oom_score_adj", /^300$/)],
  [
    "run --shm-size 32m",
    runOut(["--shm-size", "32m"], "df -k /dev/shm | tail -1 | awk '{print $2}'", /^32768$/),
  ],
  [
    "run --oom-kill-disable (with --memory)",
    runStatus(["--memory", "64m", "--oom-kill-disable"], ["true"], 0),
  ],
  ["inspect shows HostConfig.Memory", inspectIs(["--memory", "64m"], "{{.HostConfig.Memory}}", /^67108864$/)],
  [
    "update --memory on a running container",
    detached(["--memory", "64m"], ["sleep", "60"], async ({ dk, name }) => {
      if ((await dk(["update", "--memory", "128m", "--memory-swap", "256m", name])).status !== 0)
        return false;
      return /^134217728$/.test((await dk(["exec", name, "sh", "-c", CG.memory])).out.trim());
    }),
  ],
  [
    "stats --no-stream shows the memory limit",
    detached(["--memory", "64m"], ["sleep", "60"], async ({ dk, name }) =>
      /64MiB/.test((await dk(["stats", "--no-stream", "--format", "{{.MemUsage}}", name])).out),
    ),
  ],
  // 2. security
  ["default CapEff is Docker's 14 capabilities", runOut([], STATUS("CapEff"), /^00000000a80425fb$/)],
  ["default Seccomp filter (mode 2)", runOut([], STATUS("Seccomp"), /^2$/)],
  ["default NoNewPrivs 0", runOut([], STATUS("NoNewPrivs"), /^0$/)],
  ["--cap-drop ALL", runOut(["--cap-drop", "ALL"], STATUS("CapEff"), /^0000000000000000$/)],
  ["--cap-add NET_ADMIN", runOut(["--cap-add", "NET_ADMIN"], STATUS("CapEff"), /^00000000a80435fb$/)],
  [
    "--privileged: no seccomp, more caps",
    runOut(["--privileged"], `${STATUS("Seccomp")}; ${STATUS("CapEff")}`, /^0\n0000[0-9a-f]{12}$/),
  ],
  ["--read-only root", runOut(["--read-only"], "touch /x 2>/dev/null || echo ro", /^ro$/)],
  [
    "--security-opt seccomp=unconfined",
    runOut(["--security-opt", "seccomp=unconfined"], STATUS("Seccomp"), /^0$/),
  ],
  [
    "--security-opt no-new-privileges",
    runOut(["--security-opt", "no-new-privileges"], STATUS("NoNewPrivs"), /^1$/),
  ],
  [
    "--security-opt apparmor=unconfined accepted",
    runStatus(["--security-opt", "apparmor=unconfined"], ["true"], 0),
  ],
  [
    "--device /dev/null:/dev/mynull",
    runOut(["--device", "/dev/null:/dev/mynull"], "test -c /dev/mynull && echo dev", /^dev$/),
  ],
  ["--device-cgroup-rule", runStatus(["--device-cgroup-rule", "c 1:3 mr"], ["true"], 0)],
  ["--group-add 123", runOut(["--group-add", "123"], "id -G", /\b123\b/)],
  [
    "--sysctl net.ipv4.ip_forward=1",
    runOut(["--sysctl", "net.ipv4.ip_forward=1"], "cat /proc/sys/net/ipv4/ip_forward", /^1$/),
  ],
  [
    "--sysctl of the host's (vm.swappiness) refused",
    runStatus(["--sysctl", "vm.swappiness=1"], ["true"], "nonzero"),
  ],
  ["--pid host", runOut(["--pid", "host"], "ls /proc | grep -c '^[0-9]'", /^\d{2,}$/)],
  ["--ipc host", runOut(["--ipc", "host"], "readlink /proc/self/ns/ipc", /^ipc:\[\d+\]$/)],
  ["--uts host", runOut(["--uts", "host"], "hostname", /./)],
  ["--userns host", runStatus(["--userns", "host"], ["true"], 0)],
  ["--cgroupns private", runOut(["--cgroupns", "private"], "grep -c ':/$' /proc/self/cgroup", /^[1-9]\d*$/)],
  [
    "--ipc container:NAME of a shareable one",
    detached(["--ipc", "shareable"], ["sleep", "60"], async ({ dk, img, name }) => {
      await dk(["exec", name, "sh", "-c", "echo s > /dev/shm/f"]);
      const r = await dk(["run", "--rm", "--ipc", `container:${name}`, img, "cat", "/dev/shm/f"]);
      return r.status === 0 && r.out.trim() === "s";
    }),
  ],
  [
    "--pid container:NAME",
    detached([], ["sleep", "60"], async ({ dk, img, name }) => {
      const r = await dk([
        "run",
        "--rm",
        "--pid",
        `container:${name}`,
        img,
        "sh",
        "-c",
        "ps -o comm | grep -c sleep",
      ]);
      return r.status === 0 && r.out.trim() === "1";
    }),
  ],
  // 3. init, stop
  ["--init: docker-init is PID 1", runOut(["--init"], "cat /proc/1/cmdline | tr '\\0' ' '", /init/)],
  [
    "--stop-signal in inspect",
    inspectIs(["--stop-signal", "SIGUSR1"], "{{.Config.StopSignal}}", /^SIGUSR1$/),
  ],
  ["--stop-timeout in inspect", inspectIs(["--stop-timeout", "3"], "{{.Config.StopTimeout}}", /^3$/)],
  [
    "--restart on-failure:2 in inspect",
    inspectIs(
      ["--restart", "on-failure:2"],
      "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}",
      /^on-failure:2$/,
    ),
  ],
  [
    "wait gives the exit code",
    async ({ dk, img, name }) => {
      await dk(["run", "-d", "--name", name, img, "sh", "-c", "exit 3"]);
      const r = await dk(["wait", name]);
      await dk(["rm", "-f", name]);
      return r.out.trim() === "3";
    },
  ],
  // 4. healthchecks
  [
    "--health-cmd: healthy, (healthy) in ps, --filter health=",
    detached(["--health-cmd", "true", "--health-interval", "1s"], ["sleep", "60"], async ({ dk, name }) => {
      const healthy = await eventually(async () =>
        /^healthy$/.test((await dk(["inspect", "-f", "{{.State.Health.Status}}", name])).out.trim()),
      );
      const ps = await dk(["ps", "--filter", "health=healthy", "--format", "{{.Names}} {{.Status}}"]);
      return healthy && ps.out.includes(name) && ps.out.includes("(healthy)");
    }),
  ],
  [
    "--health-cmd false: unhealthy",
    detached(
      ["--health-cmd", "false", "--health-interval", "1s", "--health-retries", "1"],
      ["sleep", "60"],
      async ({ dk, name }) =>
        eventually(async () =>
          /^unhealthy$/.test((await dk(["inspect", "-f", "{{.State.Health.Status}}", name])).out.trim()),
        ),
    ),
  ],
  ["--no-healthcheck", inspectIs(["--no-healthcheck"], "{{json .Config.Healthcheck.Test}}", /NONE/)],
  // 5. verbs
  [
    "create, then start",
    async ({ dk, img, name }) => {
      const c = await dk(["create", "--name", name, img, "true"]);
      const s = await dk(["start", "-a", name]);
      await dk(["rm", "-f", name]);
      return c.status === 0 && /^[0-9a-f]{64}$/.test(c.out.trim()) && s.status === 0;
    },
  ],
  ["top", detached([], ["sleep", "60"], async ({ dk, name }) => /sleep/.test((await dk(["top", name])).out))],
  [
    "rename",
    detached([], ["sleep", "60"], async ({ dk, name }) => {
      const r = await dk(["rename", name, `${name}-2`]);
      await dk(["rename", `${name}-2`, name]);
      return r.status === 0;
    }),
  ],
  [
    "diff",
    detached([], ["sh", "-c", "touch /made; sleep 60"], async ({ dk, name }) =>
      eventually(async () => /A \/made/.test((await dk(["diff", name])).out)),
    ),
  ],
  [
    "cp into and out of a container",
    detached([], ["sleep", "60"], async ({ dk, name, tmp }) => {
      const fs = await import("node:fs");
      fs.writeFileSync(`${tmp}/in.txt`, "hello");
      if ((await dk(["cp", `${tmp}/in.txt`, `${name}:/in.txt`])).status !== 0) return false;
      if ((await dk(["cp", `${name}:/in.txt`, `${tmp}/out.txt`])).status !== 0) return false;
      return fs.readFileSync(`${tmp}/out.txt`, "utf8") === "hello";
    }),
  ],
  [
    "export",
    detached(
      [],
      ["sleep", "60"],
      async ({ dk, name, tmp }) => (await dk(["export", "-o", `${tmp}/e.tar`, name])).status === 0,
    ),
  ],
  [
    "commit --change",
    detached([], ["sleep", "60"], async ({ dk, name }) => {
      const r = await dk(["commit", "--change", "ENV X=1", name, `${name}-img:1`]);
      const env = await dk(["image", "inspect", "-f", "{{json .Config.Env}}", `${name}-img:1`]);
      await dk(["rmi", `${name}-img:1`]);
      return r.status === 0 && env.out.includes("X=1");
    }),
  ],
  [
    "import",
    detached([], ["sleep", "60"], async ({ dk, name, tmp }) => {
      await dk(["export", "-o", `${tmp}/i.tar`, name]);
      const r = await dk(["import", `${tmp}/i.tar`, `${name}-imp:1`]);
      await dk(["rmi", `${name}-imp:1`]);
      return r.status === 0;
    }),
  ],
  ["history", async ({ dk, img }) => (await dk(["history", img])).status === 0],
  [
    "save and load",
    async ({ dk, img, tmp }) => {
      if ((await dk(["save", "-o", `${tmp}/s.tar`, img])).status !== 0) return false;
      return (await dk(["load", "-i", `${tmp}/s.tar`])).status === 0;
    },
  ],
  [
    "port",
    detached(["-p", "127.0.0.1::80"], ["sleep", "60"], async ({ dk, name }) =>
      /127\.0\.0\.1:\d+/.test((await dk(["port", name, "80"])).out),
    ),
  ],
  [
    "logs --details",
    async ({ dk, img, name }) => {
      await dk(["run", "--name", name, img, "echo", "hi"]);
      const r = await dk(["logs", "--details", name]);
      await dk(["rm", "-f", name]);
      return r.status === 0 && /hi/.test(r.out);
    },
  ],
  [
    "--log-opt labels= shown by logs --details",
    async ({ dk, img, name }) => {
      await dk(["run", "--name", name, "--log-opt", "labels=x", "-l", "x=1", img, "echo", "hi"]);
      const r = await dk(["logs", "--details", name]);
      await dk(["rm", "-f", name]);
      return r.status === 0 && /x=1 hi/.test(r.out);
    },
  ],
  // 6. run behaviours
  ["-w to a missing directory makes it", runOut(["-w", "/new/dir"], "pwd", /^\/new\/dir$/)],
  [
    "-v /missing:/x makes the host directory",
    async ({ dk, img, tmp }) =>
      (await dk(["run", "--rm", "-v", `${tmp}/made/here:/x`, img, "true"])).status === 0 &&
      (await import("node:fs")).existsSync(`${tmp}/made/here`),
  ],
  ["a missing command exits 127", runStatus([], ["/nope"], 127)],
  ["a non-executable command exits 126", runStatus([], ["/etc/passwd"], 126)],
  [
    "--rm removes anonymous volumes",
    async ({ dk, img }) => {
      const before = (await dk(["volume", "ls", "-q"])).out.trim().split("\n").filter(Boolean).length;
      await dk(["run", "--rm", "-v", "/data", img, "true"]);
      const after = (await dk(["volume", "ls", "-q"])).out.trim().split("\n").filter(Boolean).length;
      return after === before;
    },
  ],
  ["images -f dangling=true", async ({ dk }) => (await dk(["images", "-f", "dangling=true"])).status === 0],
  [
    "ps -l is the latest container",
    async ({ dk, img, name }) => {
      await dk(["create", "--name", name, img, "true"]);
      const r = await dk(["ps", "-l", "--format", "{{.Names}}"]);
      await dk(["rm", name]);
      return r.out.trim() === name;
    },
  ],
  [
    "an unknown ps filter is an error",
    async ({ dk }) => (await dk(["ps", "--filter", "bogus=1"])).status !== 0,
  ],
  [
    "named volumes' Mounts.Source is their host path",
    async ({ dk, img, name }) => {
      await dk(["run", "-d", "--name", name, "-v", `${name}-vol:/v`, img, "sleep", "60"]);
      const r = await dk(["inspect", "-f", "{{range .Mounts}}{{.Source}}{{end}}", name]);
      await dk(["rm", "-f", name]);
      await dk(["volume", "rm", `${name}-vol`]);
      return /^\/.+_data$/.test(r.out.trim());
    },
  ],
  [
    "ps --format '{{.Names}}'",
    detached([], ["sleep", "60"], async ({ dk, name }) =>
      (await dk(["ps", "--format", "{{.Names}}"])).out.split("\n").includes(name),
    ),
  ],
  [
    "ps Status reads 'Up …'",
    detached([], ["sleep", "60"], async ({ dk, name }) =>
      /^Up /.test((await dk(["ps", "--filter", `name=${name}`, "--format", "{{.Status}}"])).out.trim()),
    ),
  ],
  // The refusals pier's rule asks for (a flag never silently dropped)
  [
    "--kernel-memory is not silently accepted",
    async ({ dk, img }) => {
      const r = await dk(["run", "--rm", "--kernel-memory", "10m", img, "true"]);
      return r.status !== 0 || /kernel memory|deprecated|not supported/i.test(r.err);
    },
  ],
  [
    "an unknown API field is refused",
    async ({ dk, img }) =>
      (await dk(["run", "--rm", "--runtime", "nonexistent-runtime", img, "true"])).status !== 0,
  ],
];
