// Benchmark: what verifying a signature adds to a pull. `pier pull` of a 1 GiB image (eight
// 128 MiB layers) from Debian's docker-registry on loopback into a fresh store, under a policy
// that accepts anything and under one requiring a sigstoreSigned signature by pier's key —
// alternating (A B, B A, …), comparing medians. Each pull is its own `pier` process.
// Usage (after `npm run build`): node bench/verify/run.mjs [runs=3]
// Env: PIER_DIST (compiled tree, default dist/), BENCH_DIR (scratch, default a temp dir).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const dist = resolve(process.env.PIER_DIST ?? join(here, "../../dist"));
const pierCli = join(dist, "cli/pier.js");
const runs = Number(process.argv[2] ?? 3);
const { startDockerRegistry } = await import(`${dist}/testing/remote-docker-registry.js`);
const { writeRandomImage } = await import(`${dist}/testing/remote-image.js`);

const scratch = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "pier-bench-verify-"));
const reg = await startDockerRegistry();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pier = (...args) => execFileSync("node", [pierCli, "--root", join(scratch, "work"), ...args]);

function timedPull(store, policy) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(
    "node",
    [pierCli, "--root", store, "pull", "-q", ref, "--policy", policy, "--registries.d", join(scratch, "rd")],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  if (r.status !== 0) throw new Error(`pier pull under ${policy} failed with ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const ref = `${reg.host}/bench/img:1`;
try {
  const layout = join(scratch, "src");
  console.log("building a 1 GiB image of 8 layers…");
  const gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
  await writeRandomImage(layout, "bench", Array(8).fill(128 * 1024 * 1024), undefined, gzip);
  execFileSync("skopeo", [
    "copy",
    "-q",
    "--preserve-digests",
    "--dest-tls-verify=false",
    `oci:${layout}:bench`,
    `docker://${ref}`,
  ]);
  rmSync(layout, { recursive: true, force: true });
  writeFileSync(join(scratch, "pass"), "bench\n");
  mkdirSync(join(scratch, "rd"));
  pier(
    "key",
    "generate",
    "--output-key-prefix",
    join(scratch, "key"),
    "--passphrase-file",
    join(scratch, "pass"),
  );
  pier("sign", ref, "--key", join(scratch, "key.private"), "--passphrase-file", join(scratch, "pass"));
  const open = join(scratch, "open.json");
  writeFileSync(open, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
  const signed = join(scratch, "signed.json");
  writeFileSync(
    signed,
    JSON.stringify({ default: [{ type: "sigstoreSigned", keyPath: join(scratch, "key.pub") }] }),
  );
  const t = { open: [], signed: [] };
  for (let i = 0; i < runs; i++) {
    for (const mode of i % 2 === 0 ? ["open", "signed"] : ["signed", "open"]) {
      const store = join(scratch, `store-${mode}-${i}`);
      const sec = timedPull(store, mode === "open" ? open : signed);
      t[mode].push(sec);
      rmSync(store, { recursive: true, force: true });
      console.log(
        `run ${i + 1} ${mode === "open" ? "insecureAcceptAnything" : "sigstoreSigned"}: ${sec.toFixed(2)} s`,
      );
    }
  }
  // The verification itself, in-process (what the pull's admit hook does): read the `.sig`
  // manifest and payload from the registry, verify, check identity. Whole pulls on a shared
  // machine vary by more than this, so it is reported on its own too.
  const trust = await import(`${dist}/trust/index.js`);
  const { clientFor } = await import(`${dist}/remote/index.js`);
  const { parseReference } = await import(`${dist}/oci/reference.js`);
  const policy = await trust.loadPolicy(signed);
  const r = parseReference(ref);
  const client = clientFor(r.registry, { insecure: true });
  const root = await client.getManifest(r.repository, r.identifier);
  const gate = [];
  for (let i = 0; i < 21; i++) {
    const t0 = process.hrtime.bigint();
    const image = trust.registryImageUnderPolicy(client, r, root.digest, { docker: new Map() });
    await trust.evaluatePolicy(policy, image);
    gate.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await client.close();
  console.log(
    `verification alone (in-process, warm connection): median ${median(gate).toFixed(2)} ms = ${((median(gate) / 1000 / median(t.open)) * 100).toFixed(3)} % of the unverified pull`,
  );
  const ratio = median(t.signed) / median(t.open);
  console.log(
    `pull 1 GiB: insecureAcceptAnything ${median(t.open).toFixed(2)} s, sigstoreSigned ${median(t.signed).toFixed(2)} s, verified/unverified time ratio ${ratio.toFixed(3)} (+${((ratio - 1) * 100).toFixed(1)} %)`,
  );
} finally {
  await reg.stop();
  rmSync(scratch, { recursive: true, force: true });
}
