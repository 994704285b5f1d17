#!/usr/bin/env node
// Docker-parity score of issue #15: the docker CLI checks of checks.mjs against pierd's Docker
// socket and, unless --no-podman, against podman's Docker-compatible service
// (`podman system service`), each with the same busybox root filesystem (built by pier, served
// to pierd by pier's registry on 127.0.0.1, given to podman through `podman import`). Prints each
// check's result and the pass counts.
//
// Usage (as root, after `npm run build`): node bench/docker-parity/run.mjs [--no-podman] [filter]
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CHECKS } from "./checks.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const build = join(here, "..", "..", "dist");
const args = process.argv.slice(2);
const withPodman = !args.includes("--no-podman");
const filter = args.find((a) => !a.startsWith("--"));
const ts = await import(join(build, "testing", "engine.js"));
const bb = await import(join(build, "testing", "busybox.js"));

function run(cmd, argv, env = {}, timeout = 120000) {
  return new Promise((resolve) => {
    const c = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    let err = "";
    c.stdout.on("data", (d) => (out += d));
    c.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => c.kill("SIGKILL"), timeout);
    c.on("error", (e) => resolve({ status: -1, out, err: `${err}${e.message}` }));
    c.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, out, err });
    });
  });
}

/** Runs every check against the socket in `env`; returns the failed checks' names. */
async function score(label, env, img, work) {
  const dk = (argv) => run("docker", argv, env);
  const failed = [];
  let n = 0;
  for (const [i, [name, check]] of CHECKS.entries()) {
    if (filter && !name.includes(filter)) continue;
    n++;
    const tmp = join(work, `${label}-${i}`);
    mkdirSync(tmp, { recursive: true });
    let passed = false;
    try {
      passed = await check({ dk, img, name: `parity-${label}-${i}`, tmp });
    } catch (err) {
      process.stdout.write(`  (${name}: ${err.message})\n`);
    }
    if (!passed) failed.push(name);
    process.stdout.write(`${label.padEnd(7)} ${passed ? "pass" : "FAIL"}  ${name}\n`);
  }
  process.stdout.write(`${label}: ${n - failed.length}/${n} passed\n\n`);
  return { n, failed };
}

const work = await mkdtemp(join(tmpdir(), "pier-parity-"));
const reg = await ts.busyboxRegistry();
const pierd = await ts.startTestDaemon([]);
let service;
const results = {};
try {
  const pierEnv = { DOCKER_HOST: `unix://${pierd.dockerSocket}`, DOCKER_CONFIG: join(work, "dc1") };
  await run("docker", ["pull", reg.image], pierEnv);
  results.pierd = await score("pierd", pierEnv, reg.image, work);
  if (withPodman) {
    const pdir = join(work, "podman");
    const podmanArgs = [
      "--root",
      join(pdir, "root"),
      "--runroot",
      join(pdir, "run"),
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
    mkdirSync(pdir, { recursive: true });
    // podman's default ulimits (nofile, nproc 1048576) exceed the hard limits of sandboxed hosts.
    writeFileSync(
      join(pdir, "containers.conf"),
      '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n',
    );
    const env = { CONTAINERS_CONF: join(pdir, "containers.conf") };
    const sock = join(pdir, "podman.sock");
    service = spawn("podman", [...podmanArgs, "system", "service", "--time=0", `unix://${sock}`], {
      stdio: ["ignore", "ignore", "ignore"],
      env: { ...process.env, ...env },
    });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
    await bb.writeBusyboxRootfs(join(pdir, "rootfs"));
    await run("tar", ["-C", join(pdir, "rootfs"), "-cf", join(pdir, "bb.tar"), "."]);
    const podImage = "localhost/busybox:latest";
    await run("podman", [...podmanArgs, "import", "--change", "CMD sh", join(pdir, "bb.tar"), podImage], env);
    results.podman = await score(
      "podman",
      { DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(work, "dc2") },
      podImage,
      work,
    );
    await run("podman", [...podmanArgs, "rm", "-a", "-f", "-t", "0"], env);
  }
} finally {
  service?.kill("SIGTERM");
  await pierd.stop();
  await reg.stop();
  await rm(work, { recursive: true, force: true });
}
for (const [label, r] of Object.entries(results))
  process.stdout.write(
    `${label}: ${r.n - r.failed.length}/${r.n}${r.failed.length ? ` (failed: ${r.failed.join("; ")})` : ""}\n`,
  );
