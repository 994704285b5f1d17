// Driver of bench/checkpoint/run.sh: argv = repo, work dir, iterations.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [repo, work, itersArg] = process.argv.slice(2);
const iterations = Number(itersArg);
const { writeBusyboxRootfs } = await import(join(repo, "dist/testing/busybox.js"));
const { defaultRuntimeSpec } = await import(join(repo, "dist/oci/runtime-spec/default-spec.js"));
const pier = join(repo, "native/build/pier-runtime");

function bundleFor(mb) {
  const dir = join(work, `bundle-${mb}`);
  const spec = defaultRuntimeSpec();
  spec.process.terminal = false;
  spec.root.readonly = false;
  // touch MB megabytes (a shell variable of that size), then say so and idle
  spec.process.args = [
    "sh",
    "-c",
    `x=$(head -c ${mb * 1048576} /dev/zero | tr '\\0' a); echo > /ready; while true; do sleep 1; done`,
  ];
  return { dir, spec };
}

/** Runs a command with pipes for stdio (as conmon gives them); returns ms and checks success. */
function timed(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("bash", ["-c", 'exec "$@" < <(:) > >(exec cat >"$ERR") 2>&1', "bash", cmd, ...args], {
    stdio: "ignore",
    env: { ...process.env, ERR: join(work, "err") },
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${readFileSync(join(work, "err"), "utf8")}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = {};
for (const mb of [50, 500]) {
  const { dir, spec } = bundleFor(mb);
  await writeBusyboxRootfs(join(dir, "rootfs"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(spec));
  for (let i = 0; i < iterations; i++) {
    for (const [name, bin] of [
      ["pier-runtime", pier],
      ["runc", "runc"],
    ]) {
      const root = join(work, `state-${name}`);
      const id = `ckbench-${mb}`;
      const images = join(work, `img-${name}-${mb}-${i}`);
      rmSync(join(dir, "rootfs/ready"), { force: true });
      timed(bin, ["--root", root, "run", "-d", "--bundle", dir, id]);
      for (let w = 0; !existsSync(join(dir, "rootfs/ready")); w++) {
        if (w > 3000) throw new Error("the container never became ready");
        await new Promise((r) => setTimeout(r, 10));
      }
      const ck = timed(bin, ["--root", root, "checkpoint", "--image-path", images, id]);
      const rs = timed(bin, ["--root", root, "restore", "-d", "--image-path", images, "--bundle", dir, id]);
      timed(bin, ["--root", root, "delete", "--force", id]);
      rmSync(images, { recursive: true, force: true });
      const key = `${name} ${mb} MB`;
      results[key] ??= { checkpoint: [], restore: [] };
      results[key].checkpoint.push(ck);
      results[key].restore.push(rs);
    }
  }
}
console.log(`median of ${iterations} (ms), alternating runtimes, same CRIU:`);
for (const [k, v] of Object.entries(results))
  console.log(
    `${k.padEnd(22)} checkpoint ${median(v.checkpoint).toFixed(0).padStart(6)}   restore ${median(v.restore).toFixed(0).padStart(6)}`,
  );
