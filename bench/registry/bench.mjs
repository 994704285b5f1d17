// Driver of bench/registry/run.sh. Builds a 1 GiB OCI layout of five gzip layers (stored
// deflate blocks over random data, so neither side spends time compressing), then per round and
// per registry (order alternating): start it on a fresh root, time `skopeo copy` push and pull,
// run wrk on a manifest GET and a blob HEAD while sampling the server's RSS, stop it.
//
//   node bench.mjs <pier build dir> <work dir> [rounds]
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

const [build, work, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 3);
const LAYERS = 5;
const LAYER_BYTES = (1 << 30) / LAYERS;

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

async function sha256File(path) {
  const h = createHash("sha256");
  for await (const c of createReadStream(path)) h.update(c);
  return `sha256:${h.digest("hex")}`;
}

async function buildLayout(dir) {
  mkdirSync(join(dir, "blobs/sha256"), { recursive: true });
  const put = async (file) => {
    const digest = await sha256File(file);
    sh("mv", [file, join(dir, "blobs/sha256", digest.slice(7))]);
    return digest;
  };
  const layers = [];
  const diffIds = [];
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < LAYERS; i++) {
    const src = join(work, `layer-src-${i}`);
    mkdirSync(src, { recursive: true });
    const fd = createWriteStream(join(src, "data.bin"));
    for (let w = 0; w < LAYER_BYTES; w += chunk.length) {
      randomFillSync(chunk);
      if (!fd.write(chunk)) await new Promise((r) => fd.once("drain", r));
    }
    await new Promise((r) => fd.end(r));
    const tar = join(work, `layer-${i}.tar`);
    sh("tar", ["--sort=name", "--mtime=@0", "-C", src, "-cf", tar, "."]);
    rmSync(src, { recursive: true });
    diffIds.push(await sha256File(tar));
    const gz = join(work, `layer-${i}.tar.gz`);
    await pipeline(createReadStream(tar), createGzip({ level: 0 }), createWriteStream(gz));
    rmSync(tar);
    const size = Number(sh("stat", ["-c", "%s", gz]).trim());
    layers.push({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: await put(gz), size });
  }
  const cfgFile = join(work, "config.json");
  writeFileSync(
    cfgFile,
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: diffIds } }),
  );
  const config = {
    mediaType: "application/vnd.oci.image.config.v1+json",
    size: readFileSync(cfgFile).length,
    digest: await put(cfgFile),
  };
  const mFile = join(work, "manifest.json");
  writeFileSync(
    mFile,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config,
      layers,
    }),
  );
  const manifest = {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    size: readFileSync(mFile).length,
    digest: await put(mFile),
    annotations: { "org.opencontainers.image.ref.name": "big" },
  };
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [manifest] }));
  return { layer: layers[0].digest, manifestFile: join(dir, "blobs/sha256", manifest.digest.slice(7)) };
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitUp(url) {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${url}/v2/`);
      if (r.status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`registry at ${url} did not start`);
}

// pier as users run it: `pier registry serve` (the plain Node.js CLI: the native front end
// hands a long-running server to it), with its access log off as docker-registry's below.
async function startPier(root, port) {
  const config = join(work, "pier-registry.json");
  writeFileSync(config, JSON.stringify({ log: { access: false } }));
  const log = openSync(join(work, `pier-${port}.log`), "w");
  const args = ["registry", "serve", "--addr", `127.0.0.1:${port}`, "--root", root, "--config", config];
  const child = spawn(process.execPath, [join(build, "cli/pier.js"), ...args], {
    stdio: ["ignore", "ignore", log],
  });
  await waitUp(`http://127.0.0.1:${port}`);
  return child;
}

/**
 * The floor of a Node.js server: node:http answering every request with the same manifest bytes
 * and headers from memory, nothing else (no routing, no lookup, no auth, no metrics).
 */
async function startNodeFloor(port, manifest) {
  const script = `
    const http = require("node:http");
    const body = require("node:fs").readFileSync(${JSON.stringify(manifest)});
    const digest = "sha256:" + require("node:crypto").createHash("sha256").update(body).digest("hex");
    const headers = { "Content-Type": "application/vnd.oci.image.manifest.v1+json", "Content-Length": body.length,
      "Docker-Content-Digest": digest, ETag: '"' + digest + '"', "Docker-Distribution-API-Version": "registry/2.0" };
    http.createServer((req, res) => { res.writeHead(200, headers); res.end(body); }).listen(${port}, "127.0.0.1");`;
  const child = spawn(process.execPath, ["-e", script], { stdio: "ignore" });
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/v2/`);
      return child;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the node:http floor server did not start");
}

async function startDistribution(root, port) {
  const cfg = join(work, `dreg-${port}.yml`);
  // Access logs off on both sides; the in-memory blob descriptor cache is distribution's recommended setting.
  writeFileSync(
    cfg,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${root}\n  delete:\n    enabled: true\n  cache:\n    blobdescriptor: inmemory\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  // Its error log names every 404 of a push (blob existence checks): keep it out of the report.
  const log = openSync(join(work, `dreg-${port}.log`), "w");
  const child = spawn("docker-registry", ["serve", cfg], { stdio: ["ignore", "ignore", log] });
  await waitUp(`http://127.0.0.1:${port}`);
  return child;
}

function statusKb(pid, field) {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
const rssKb = (pid) => statusKb(pid, "VmRSS");

function wrk(url, headers) {
  const args = ["-t2", "-c64", "-d10s"];
  for (const h of headers) args.push("-H", h);
  args.push(url);
  const out = sh("wrk", args);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (errors) throw new Error(`wrk saw ${errors[1]} error responses from ${url}`);
  return rps;
}

// wrk cannot do HEAD (its parser then waits for a body that never comes); ab -i can.
function abHead(url) {
  const out = sh("ab", ["-q", "-k", "-i", "-c", "64", "-t", "10", "-n", "100000000", url]);
  const errors = /Non-2xx responses:\s+(\d+)/.exec(out);
  if (errors) throw new Error(`ab saw ${errors[1]} error responses from ${url}`);
  return Number(/Requests per second:\s+([\d.]+)/.exec(out)[1]);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

console.log(`building a ${LAYERS}-layer 1 GiB OCI layout in ${work} ...`);
const layout = join(work, "layout");
const { layer, manifestFile } = await buildLayout(layout);
const results = { pier: [], "docker-registry": [] };
const floorRps = [];
const ACCEPT = "Accept: application/vnd.oci.image.manifest.v1+json";

for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? ["pier", "docker-registry"] : ["docker-registry", "pier"];
  for (const name of order) {
    const root = join(work, `root-${name}-${round}`);
    const port = await freePort();
    const child = name === "pier" ? await startPier(root, port) : await startDistribution(root, port);
    const host = `127.0.0.1:${port}`;
    const pulled = join(work, `pulled-${name}-${round}`);
    try {
      let t0 = performance.now();
      sh("skopeo", [
        "--insecure-policy",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        `oci:${layout}:big`,
        `docker://${host}/bench/big:v1`,
      ]);
      const push = (performance.now() - t0) / 1000;
      t0 = performance.now();
      sh("skopeo", [
        "--insecure-policy",
        "copy",
        "-q",
        "--src-tls-verify=false",
        `docker://${host}/bench/big:v1`,
        `oci:${pulled}:v1`,
      ]);
      const pull = (performance.now() - t0) / 1000;
      rmSync(pulled, { recursive: true, force: true });
      let peak = rssKb(child.pid);
      // wrk and ab block this process: a shell loop samples RSS meanwhile.
      const sample = spawn(
        "sh",
        [
          "-c",
          `while kill -0 ${child.pid} 2>/dev/null; do grep VmRSS /proc/${child.pid}/status; sleep 0.1; done`,
        ],
        {
          stdio: ["ignore", "pipe", "ignore"],
        },
      );
      let sampled = "";
      sample.stdout.on("data", (d) => {
        sampled += d;
      });
      const manifestRps = wrk(`http://${host}/v2/bench/big/manifests/v1`, [ACCEPT]);
      const headRps = abHead(`http://${host}/v2/bench/big/blobs/${layer}`);
      sample.kill();
      await new Promise((r) => setTimeout(r, 50));
      for (const m of sampled.matchAll(/VmRSS:\s+(\d+)/g)) peak = Math.max(peak, Number(m[1]));
      // The kernel's high-water mark covers the whole life of the process, the push and pull
      // included (the sampling above covers only the request load after them).
      const hwm = statusKb(child.pid, "VmHWM");
      const r = { push, pull, manifestRps, headRps, peakMiB: peak / 1024, hwmMiB: hwm / 1024 };
      results[name].push(r);
      console.log(
        `round ${round + 1} ${name.padEnd(15)} push ${push.toFixed(2)} s  pull ${pull.toFixed(2)} s  manifest GET ${manifestRps.toFixed(0)}/s  blob HEAD ${headRps.toFixed(0)}/s  peak RSS ${(peak / 1024).toFixed(0)} MiB (whole run ${(hwm / 1024).toFixed(0)} MiB)`,
      );
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(root, { recursive: true, force: true });
    }
  }
  const floorPort = await freePort();
  const floor = await startNodeFloor(floorPort, manifestFile);
  try {
    floorRps.push(wrk(`http://127.0.0.1:${floorPort}/v2/bench/big/manifests/v1`, [ACCEPT]));
  } finally {
    floor.kill("SIGTERM");
  }
}

const med = (name, key) => median(results[name].map((r) => r[key]));
console.log("\nmedians (pier / docker-registry; time ratios < 1 and rate ratios > 1 mean pier is faster)");
for (const [key, label, unit] of [
  ["push", "push 1 GiB", "s"],
  ["pull", "pull 1 GiB", "s"],
  ["manifestRps", "manifest GET", "req/s"],
  ["headRps", "blob HEAD", "req/s"],
  ["peakMiB", "peak RSS", "MiB"],
  ["hwmMiB", "RSS high-water", "MiB"],
]) {
  const p = med("pier", key);
  const d = med("docker-registry", key);
  console.log(
    `${label.padEnd(14)} pier ${p.toFixed(2).padStart(10)} ${unit.padEnd(5)} docker-registry ${d.toFixed(2).padStart(10)} ${unit.padEnd(5)} ratio ${(p / d).toFixed(2)}`,
  );
}
console.log(
  "(peak RSS: sampled every 0.1 s from the end of the pull through the manifest GET and blob HEAD load; RSS high-water: the kernel's VmHWM over the process's whole life, push and pull included)",
);
console.log(
  `manifest GET of a bare node:http server answering the same bytes from memory (the floor of any Node.js server): ${median(floorRps).toFixed(0)} req/s; pier ${(med("pier", "manifestRps") / median(floorRps)).toFixed(2)} of it`,
);
const pt = med("pier", "push") + med("pier", "pull");
const dt = med("docker-registry", "push") + med("docker-registry", "pull");
console.log(`push+pull      wall time ratio pier/docker-registry ${(pt / dt).toFixed(2)}`);
