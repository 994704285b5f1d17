// Benchmark: pull a 1 GiB image of eight layers from Debian's docker-registry on loopback into an
// OCI layout, and push it back — pier vs `skopeo copy`, alternating runs, comparing medians.
// Usage (after `npm run build`): node bench/pull-push/run.mjs [runs=3]
// Env: PIER_DIST (compiled tree, default dist/), BENCH_DIR (scratch, default a temp dir).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const dist = resolve(process.env.PIER_DIST ?? join(here, "../../dist"));
const runs = Number(process.argv[2] ?? 3);
const { startDockerRegistry } = await import(`${dist}/testing/remote-docker-registry.js`);
const { writeRandomImage } = await import(`${dist}/testing/remote-image.js`);

const scratch = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "pier-bench-pull-push-"));
const reg = await startDockerRegistry();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timed(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, PIER_DIST: dist },
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed with ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

try {
  const layout = join(scratch, "src");
  console.log("building a 1 GiB image of 8 layers…");
  // Declared gzip so that neither tool recompresses (skopeo would gzip an uncompressed layer).
  const gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
  await writeRandomImage(layout, "bench", Array(8).fill(128 * 1024 * 1024), undefined, gzip);
  execFileSync("skopeo", [
    "copy",
    "-q",
    "--preserve-digests",
    "--dest-tls-verify=false",
    `oci:${layout}:bench`,
    `docker://${reg.host}/bench/img:1`,
  ]);
  const src = `docker://${reg.host}/bench/img:1`;
  const t = { pierPull: [], skopeoPull: [], pierPush: [], skopeoPush: [] };
  for (let i = 0; i < runs; i++) {
    for (const tool of i % 2 === 0 ? ["pier", "skopeo"] : ["skopeo", "pier"]) {
      const dst = join(scratch, `pull-${tool}-${i}`);
      const pullSec =
        tool === "pier"
          ? timed("node", [join(here, "pier-copy.mjs"), src, `oci:${dst}:bench`])
          : timed("skopeo", ["copy", "-q", "--src-tls-verify=false", src, `oci:${dst}:bench`]);
      t[`${tool}Pull`].push(pullSec);
      // A fresh registry per push: neither tool can skip or mount blobs it has seen before
      // (skopeo's blob-info cache would otherwise mount them from the source repository).
      const target = await startDockerRegistry();
      const to = `docker://${target.host}/push/img:1`;
      let pushSec;
      try {
        pushSec =
          tool === "pier"
            ? timed("node", [join(here, "pier-copy.mjs"), `oci:${dst}:bench`, to])
            : timed("skopeo", [
                "copy",
                "-q",
                "--preserve-digests",
                "--dest-tls-verify=false",
                `oci:${dst}:bench`,
                to,
              ]);
      } finally {
        await target.stop();
      }
      t[`${tool}Push`].push(pushSec);
      rmSync(dst, { recursive: true, force: true });
      console.log(`run ${i + 1} ${tool}: pull ${pullSec.toFixed(2)} s, push ${pushSec.toFixed(2)} s`);
    }
  }
  const pull = median(t.pierPull) / median(t.skopeoPull);
  const push = median(t.pierPush) / median(t.skopeoPush);
  console.log(
    `pull 1 GiB: pier ${median(t.pierPull).toFixed(2)} s, skopeo ${median(t.skopeoPull).toFixed(2)} s, pier/skopeo time ratio ${pull.toFixed(2)}`,
  );
  console.log(
    `push 1 GiB: pier ${median(t.pierPush).toFixed(2)} s, skopeo ${median(t.skopeoPush).toFixed(2)} s, pier/skopeo time ratio ${push.toFixed(2)}`,
  );
} finally {
  await reg.stop();
  rmSync(scratch, { recursive: true, force: true });
}
