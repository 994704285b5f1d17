/**
 * Checkpoint archives between pierd and podman 4.3 (with runc and CRIU 4), both ways: a counting
 * container checkpointed by podman (`container checkpoint --export`) is imported and restored by
 * pierd and counts on; one checkpointed by pierd is restored by podman (`container restore
 * --import`) and counts on. Both sides run the same image (pushed by podman to a pier registry,
 * pulled by both). Podman makes a container's root directory 0555 where pier (as Docker) makes
 * it 0755, and CRIU checks that mode: pier's import skips that check itself; podman's runc
 * needs it in its CRIU configuration (`skip-file-rwx-check` in /etc/criu/runc.conf, or the
 * `org.criu.config` annotation), which this test gives through a runc wrapper rather than by
 * writing the host's /etc. The same both ways for checkpoint images (podman's `checkpoint
 * --create-image` and `container restore IMAGE`) through a pier registry, and both ways for a
 * container with a terminal (`-t`).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../../testing/busybox.js";
import {
  api,
  COUNTER,
  counted,
  countsOnFrom,
  until,
  useCheckpointDaemon,
} from "../../testing/checkpoints.js";
import { docker, pier, runCommand } from "../../testing/engine.js";
import { criuFirstInPath, criuSkipReason } from "../../testing/runtime-criu.js";
import { PODMAN_ULIMITS } from "../../testing/runtime-podman.js";

async function skipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "needs root";
  try {
    execFileSync("podman", ["--version"], { stdio: "ignore" });
    execFileSync("runc", ["--version"], { stdio: "ignore" });
  } catch {
    return "podman or runc is not installed";
  }
  return criuSkipReason();
}
const { skip, fx } = await useCheckpointDaemon("podman_interop_test", { skipReason });

describe("checkpoint archives between pierd and podman", { skip }, () => {
  let dir = "";
  let registryHost = "";
  let image = "";
  let globals: string[] = [];
  let env: NodeJS.ProcessEnv = {};
  const pm = async (...args: string[]) => {
    const r = await runCommand("podman", [...globals, ...args], { env, timeout: 120000 });
    assert.equal(r.status, 0, `podman ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const ok = async (...args: string[]) => {
    const r = await docker(fx.d, args);
    assert.equal(r.status, 0, `docker ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    dir = await makeTempDir("pier-ckpt-podman-");
    // runc restores with CRIU's file-mode check off (see the module comment): its bundle's
    // config.json gets the org.criu.config annotation before runc reads it.
    writeFileSync(join(dir, "criu.conf"), "skip-file-rwx-check\n");
    const runc = join(dir, "runc");
    const edit = `const f=process.argv[1]+"/config.json",s=JSON.parse(require("fs").readFileSync(f,"utf8"));s.annotations={...s.annotations,"org.criu.config":process.argv[2]};require("fs").writeFileSync(f,JSON.stringify(s))`;
    writeFileSync(
      runc,
      `#!/bin/sh
for a in "$@"; do [ "$a" = restore ] && r=1; [ -n "$b" ] && bundle="$a" && b=; [ "$a" = --bundle ] && b=1; done
if [ -n "$r" ] && [ -n "$bundle" ]; then
  '${process.execPath}' -e '${edit}' "$bundle" '${join(dir, "criu.conf")}' || exit 1
fi
exec runc "$@"
`,
    );
    chmodSync(runc, 0o755);
    globals = [
      "--root",
      join(dir, "storage"),
      "--runroot",
      join(dir, "run"),
      // libpod's own state (/run/libpod by default) private too: another podman's
      // `system reset` there made this one lose its containers, which then ran on
      "--tmpdir",
      join(dir, "tmp"),
      "--storage-driver",
      "overlay",
      "--cgroup-manager",
      "cgroupfs",
      "--events-backend",
      "file",
      "--runtime",
      "runc",
    ];
    // The wrapper under runc's name (podman refuses an archive made under another runtime name);
    // podman looks for criu in PATH only.
    writeFileSync(join(dir, "containers.conf"), `[engine.runtimes]\nrunc = ["${runc}"]\n`);
    env = {
      ...process.env,
      CONTAINERS_CONF: join(dir, "containers.conf"),
      PATH: criuFirstInPath(),
    };
    const rootfs = await writeBusyboxRootfs(join(dir, "rootfs"));
    execFileSync("tar", ["-C", rootfs, "-cf", join(dir, "rootfs.tar"), "."]);
    await pm("import", join(dir, "rootfs.tar"), "localhost/ckpt-busybox:test");
    registryHost = new URL(fx.reg.registry.url).host;
    image = `${registryHost}/ckpt-busybox:latest`;
    await pm("push", "--tls-verify=false", "localhost/ckpt-busybox:test", image);
    await pm("pull", "--tls-verify=false", image);
    await ok("pull", image);
  });
  after(async () => {
    if (!dir) return;
    await runCommand("podman", [...globals, "rm", "--all", "--force", "--time", "0"], { env });
    await runCommand("podman", [...globals, "system", "reset", "--force"], { env });
    await removeTempDir(dir);
  });

  it("pierd restores podman's archive and the count goes on", async () => {
    await pm("run", "-d", ...PODMAN_ULIMITS, "--name", "frompodman", image, "sh", "-c", COUNTER);
    await until(async () => counted(await pm("logs", "frompodman")) >= 5, "podman's count to reach 5");
    const archive = join(dir, "podman.tar.zst");
    await pm("container", "checkpoint", "--export", archive, "frompodman");
    const at = counted(await pm("logs", "frompodman"));
    const r = await api(fx.d.socket, "POST", "/v1/containers/import", readFileSync(archive));
    assert.equal(r.status, 201, r.body.toString());
    await until(async () => countsOnFrom(await ok("logs", "frompodman"), at) >= 3, "pier's count to go on");
    await ok("rm", "-f", "frompodman");
  });

  it("podman restores pierd's archive and the count goes on", async () => {
    await ok("run", "-d", "--name", "frompier", image, "sh", "-c", COUNTER);
    await until(async () => counted(await ok("logs", "frompier")) >= 5, "pier's count to reach 5");
    const r = await api(
      fx.d.socket,
      "POST",
      "/v1/containers/frompier/checkpoints",
      JSON.stringify({ export: true }),
    );
    assert.equal(r.status, 200, r.body.toString());
    const at = counted(await ok("logs", "frompier"));
    const archive = join(dir, "pier.tar.zst");
    writeFileSync(archive, r.body);
    await pm("container", "restore", "--import", archive);
    await until(async () => countsOnFrom(await pm("logs", "frompier"), at) >= 3, "podman's count to go on");
  });

  it("terminal (-t) containers: pierd restores podman's archive and podman pierd's, the console's log going on", async () => {
    // podman (runc) → pierd: the import keeps the terminal; pierd's monitor gets the new pty
    await pm("run", "-dt", ...PODMAN_ULIMITS, "--name", "ttypodman", image, "sh", "-c", COUNTER);
    await until(async () => counted(await pm("logs", "ttypodman")) >= 5, "podman's count to reach 5");
    const fromPodman = join(dir, "podman-tty.tar.zst");
    await pm("container", "checkpoint", "--export", fromPodman, "ttypodman");
    const at = counted(await pm("logs", "ttypodman"));
    const r = await api(fx.d.socket, "POST", "/v1/containers/import", readFileSync(fromPodman));
    assert.equal(r.status, 201, r.body.toString());
    assert.equal((await ok("inspect", "-f", "{{.Config.Tty}}", "ttypodman")).trim(), "true");
    await until(async () => countsOnFrom(await ok("logs", "ttypodman"), at) >= 3, "pier's count to go on");
    // pierd → podman (runc, conmon holding the console)
    await ok("run", "-dt", "--name", "ttypier", image, "sh", "-c", COUNTER);
    await until(async () => counted(await ok("logs", "ttypier")) >= 5, "pier's count to reach 5");
    const e = await api(
      fx.d.socket,
      "POST",
      "/v1/containers/ttypier/checkpoints",
      JSON.stringify({ export: true }),
    );
    assert.equal(e.status, 200, e.body.toString());
    const at2 = counted(await ok("logs", "ttypier"));
    const fromPier = join(dir, "pier-tty.tar.zst");
    writeFileSync(fromPier, e.body);
    await pm("container", "restore", "--import", fromPier);
    assert.equal((await pm("inspect", "-f", "{{.Config.Tty}}", "ttypier")).trim(), "true");
    await until(async () => countsOnFrom(await pm("logs", "ttypier"), at2) >= 3, "podman's count to go on");
    await ok("rm", "-f", "ttypodman", "ttypier");
  });

  it("podman restores pierd's checkpoint image from the registry; pierd restores podman's", async () => {
    // pier → podman: pushed by pierd, pulled and restored by podman (`container restore IMAGE`).
    await ok("run", "-d", "--name", "pierimage", image, "sh", "-c", COUNTER);
    await until(async () => counted(await ok("logs", "pierimage")) >= 5, "pier's count to reach 5");
    const pierRef = `${registryHost}/ckpt-busybox:pier-checkpoint`;
    const pushed = await pier(fx.d, ["checkpoint", "push", "--compress", "gzip", "pierimage", pierRef]);
    assert.equal(pushed.status, 0, pushed.stderr);
    const at = counted(await ok("logs", "pierimage"));
    await pm("pull", "--tls-verify=false", pierRef);
    await pm("container", "restore", pierRef);
    await until(async () => countsOnFrom(await pm("logs", "pierimage"), at) >= 3, "podman's count to go on");

    // podman → pier: `checkpoint --create-image`, pushed by podman, restored by pierd from the registry.
    await pm("run", "-d", ...PODMAN_ULIMITS, "--name", "podmanimage", image, "sh", "-c", COUNTER);
    await until(async () => counted(await pm("logs", "podmanimage")) >= 5, "podman's count to reach 5");
    await pm("container", "checkpoint", "--create-image", "localhost/podman-checkpoint:1", "podmanimage");
    const podmanAt = counted(await pm("logs", "podmanimage"));
    const podmanRef = `${registryHost}/ckpt-busybox:podman-checkpoint`;
    await pm("push", "--tls-verify=false", "localhost/podman-checkpoint:1", podmanRef);
    const restored = await pier(fx.d, ["restore", podmanRef]);
    assert.equal(restored.status, 0, restored.stderr);
    await until(
      async () => countsOnFrom(await ok("logs", "podmanimage"), podmanAt) >= 3,
      "pier's count to go on",
    );
    await ok("rm", "-f", "pierimage", "podmanimage");
  });
});
