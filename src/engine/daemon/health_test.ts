/**
 * Healthchecks, `--init`, `--stop-signal` and `--stop-timeout` through the stock docker CLI and
 * through `pier`, against a test pierd: a zombie reaped by the init, a signal forwarded, a
 * health status turning unhealthy then healthy with its events, `ps`'s `(healthy)` and
 * `--filter health=`, the image's HEALTHCHECK.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { createImage } from "../../image/build.js";
import { ImageStore } from "../../image/image-store.js";
import { push } from "../../remote/pull.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../../testing/busybox.js";
import { docker, ok, pier, until, useTestDaemon } from "../../testing/engine.js";

/** The test pierd and its busybox registry, the image pulled. */
const fx = useTestDaemon({ pull: true });

/** The processes of a container in state Z (zombies), from its own /proc. */
async function zombies(name: string): Promise<string[]> {
  const out = await ok(
    docker(fx.d, ["exec", name, "sh", "-c", "for f in /proc/[0-9]*/stat; do cat $f 2>/dev/null; echo; done"]),
  );
  return out.split("\n").filter((l) => / Z /.test(l));
}

test("--init reaps an orphaned zombie (without it, one stays)", async () => {
  // The subshell's sleep is orphaned at once and exits after 0.2 s: PID 1 must reap it.
  const script = "(sleep 0.2 &) ; exec sleep 1000";
  await ok(docker(fx.d, ["run", "-d", "--name", "reaped", "--init", fx.reg.image, "sh", "-c", script]));
  await ok(docker(fx.d, ["run", "-d", "--name", "unreaped", fx.reg.image, "sh", "-c", script]));
  // The control shows the test can fail: sleep as PID 1 never reaps its adopted child.
  await until(
    () => zombies("unreaped"),
    (z) => z.length === 1,
    "a zombie without --init",
  );
  assert.deepEqual(await zombies("reaped"), []);
  const init = await ok(docker(fx.d, ["exec", "reaped", "cat", "/proc/1/cmdline"]));
  assert.equal(
    init.replaceAll("\0", " ").trim(),
    "/sbin/docker-init -- sh -c (sleep 0.2 &) ; exec sleep 1000",
  );
  assert.equal(await ok(docker(fx.d, ["inspect", "-f", "{{.HostConfig.Init}}", "reaped"])), "true");
  // The init's binary is read-only inside.
  const write = await docker(fx.d, ["exec", "reaped", "sh", "-c", "echo x > /sbin/docker-init"]);
  assert.notEqual(write.status, 0);
  await ok(docker(fx.d, ["rm", "-f", "reaped", "unreaped"]));
});

test("--init forwards stop's signal; --stop-signal and --stop-timeout are used by stop", async () => {
  // sleep as PID 1 ignores SIGTERM; under the init it is PID 2 and dies of it at once.
  await ok(
    docker(fx.d, [
      "run",
      "-d",
      "--name",
      "fwd",
      "--init",
      "--stop-timeout",
      "60",
      fx.reg.image,
      "sleep",
      "1000",
    ]),
  );
  const t0 = Date.now();
  await ok(docker(fx.d, ["stop", "fwd"]));
  assert.ok(Date.now() - t0 < 20000, "stopped by SIGTERM, not after the 60 s timeout");
  assert.equal(await ok(docker(fx.d, ["inspect", "-f", "{{.State.ExitCode}}", "fwd"])), "143");
  // --stop-signal: SIGUSR1 forwarded by the init kills sleep (128+10).
  await ok(
    docker(fx.d, [
      "run",
      "-d",
      "--name",
      "usr1",
      "--init",
      "--stop-signal",
      "SIGUSR1",
      fx.reg.image,
      "sleep",
      "1000",
    ]),
  );
  assert.equal(await ok(docker(fx.d, ["inspect", "-f", "{{.Config.StopSignal}}", "usr1"])), "SIGUSR1");
  await ok(docker(fx.d, ["stop", "usr1"]));
  assert.equal(await ok(docker(fx.d, ["inspect", "-f", "{{.State.ExitCode}}", "usr1"])), "138");
  // --stop-timeout without the init: PID 1 ignores SIGTERM, SIGKILL follows after 1 s.
  await ok(
    docker(fx.d, ["run", "-d", "--name", "slow", "--stop-timeout", "1", fx.reg.image, "sleep", "1000"]),
  );
  assert.equal(await ok(docker(fx.d, ["inspect", "-f", "{{.Config.StopTimeout}}", "slow"])), "1");
  await ok(docker(fx.d, ["stop", "slow"]));
  assert.equal(await ok(docker(fx.d, ["inspect", "-f", "{{.State.ExitCode}}", "slow"])), "137");
  const bad = await docker(fx.d, ["create", "--stop-signal", "SIGNOPE", fx.reg.image]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /Invalid signal: SIGNOPE/);
  await ok(docker(fx.d, ["rm", "-f", "fwd", "usr1", "slow"]));
});

test("--init: a missing command exits 127 with the reason", async () => {
  const r = await docker(fx.d, ["run", "--rm", "--init", fx.reg.image, "/no/such"]);
  assert.equal(r.status, 127, r.stderr);
  assert.match(r.stderr, /\/no\/such/);
});

const health = (name: string) =>
  docker(fx.d, ["inspect", "-f", "{{json .State.Health}}", name]).then((r) =>
    r.status === 0
      ? (JSON.parse(r.stdout) as {
          Status: string;
          FailingStreak: number;
          Log: { ExitCode: number; Output: string }[];
        } | null)
      : null,
  );

test("docker: a health status turns unhealthy, then healthy; events, ps and --filter health=", async () => {
  const since = String(Date.now() / 1000);
  await ok(
    docker(fx.d, [
      "run",
      "-d",
      "--name",
      "hc",
      "--health-cmd",
      "echo probing; test -f /tmp/ok",
      "--health-interval",
      "200ms",
      "--health-retries",
      "2",
      fx.reg.image,
      "sleep",
      "1000",
    ]),
  );
  // Before its first probe (an hour away) a container is starting.
  await ok(
    docker(fx.d, [
      "run",
      "-d",
      "--name",
      "hcwait",
      "--health-cmd",
      "true",
      "--health-interval",
      "1h",
      fx.reg.image,
      "sleep",
      "1000",
    ]),
  );
  assert.deepEqual(await health("hcwait"), { Status: "starting", FailingStreak: 0, Log: [] });
  assert.match(
    await ok(docker(fx.d, ["ps", "--filter", "name=hcwait", "--format", "{{.Status}}"])),
    /^Up .* \(health: starting\)$/,
  );
  assert.notEqual(await ok(docker(fx.d, ["ps", "-q", "--filter", "health=starting"])), "");
  await ok(docker(fx.d, ["rm", "-f", "hcwait"]));
  const sick = await until(
    () => health("hc"),
    (h) => h?.Status === "unhealthy",
    "unhealthy",
  );
  assert.ok(sick!.FailingStreak >= 2);
  assert.equal(sick!.Log.at(-1)?.ExitCode, 1);
  assert.equal(sick!.Log.at(-1)?.Output, "probing\n");
  assert.match(
    await ok(docker(fx.d, ["ps", "--filter", "name=hc", "--format", "{{.Status}}"])),
    /^Up .* \(unhealthy\)$/,
  );
  assert.equal(
    await ok(docker(fx.d, ["ps", "-q", "--filter", "health=unhealthy"])),
    (await ok(docker(fx.d, ["inspect", "-f", "{{.Id}}", "hc"]))).slice(0, 12),
  );
  await ok(docker(fx.d, ["exec", "hc", "touch", "/tmp/ok"]));
  const well = await until(
    () => health("hc"),
    (h) => h?.Status === "healthy",
    "healthy",
  );
  assert.equal(well!.FailingStreak, 0);
  assert.ok(well!.Log.length <= 5);
  await until(
    () => health("hc"),
    (h) => h?.Log.length === 5,
    "five log entries",
  );
  assert.match(
    await ok(docker(fx.d, ["ps", "--filter", "name=hc", "--format", "{{.Status}}"])),
    /\(healthy\)$/,
  );
  assert.equal(await ok(docker(fx.d, ["ps", "-q", "--filter", "health=unhealthy"])), "");
  assert.notEqual(await ok(docker(fx.d, ["ps", "-q", "--filter", "health=healthy"])), "");
  assert.equal(
    await ok(docker(fx.d, ["ps", "-q", "--filter", "health=healthy", "--filter", "name=nohc"])),
    "",
  );
  const events = await ok(
    docker(fx.d, [
      "events",
      "--since",
      since,
      "--until",
      String(Date.now() / 1000),
      "--filter",
      "event=health_status",
      "--format",
      "{{.Action}} {{.Actor.Attributes.name}}",
    ]),
  );
  assert.deepEqual(events.split("\n"), ["health_status: unhealthy hc", "health_status: healthy hc"]);
  const bad = await docker(fx.d, ["ps", "--filter", "health=sick"]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /health: sick/);
  // The probes stop with the container: its health stays as it was.
  await ok(docker(fx.d, ["stop", "-t", "0", "hc"]));
  const stopped = await health("hc");
  await new Promise((r) => setTimeout(r, 600));
  assert.deepEqual(await health("hc"), stopped);
  await ok(docker(fx.d, ["rm", "-f", "hc"]));
});

test("docker: a probe over its timeout fails with Docker's message; --no-healthcheck", async () => {
  await ok(
    docker(fx.d, [
      "run",
      "-d",
      "--name",
      "slowprobe",
      "--health-cmd",
      "sleep 5",
      "--health-interval",
      "100ms",
      "--health-timeout",
      "300ms",
      "--health-retries",
      "1",
      fx.reg.image,
      "sleep",
      "1000",
    ]),
  );
  const h = await until(
    () => health("slowprobe"),
    (h) => h?.Status === "unhealthy",
    "unhealthy",
  );
  assert.equal(h!.Log[0]?.ExitCode, -1);
  assert.equal(h!.Log[0]?.Output, "Health check exceeded timeout (0.3s)");
  // A probe over its time is killed: they do not pile up (each would sleep 5 s).
  await until(
    () => health("slowprobe"),
    (h) => (h?.Log.length ?? 0) >= 4,
    "four probes",
  );
  const sleeping = await ok(
    docker(fx.d, [
      "exec",
      "slowprobe",
      "sh",
      "-c",
      "grep -l '^sleep.5' /proc/[0-9]*/cmdline 2>/dev/null | wc -l",
    ]),
  );
  assert.ok(Number(sleeping) <= 1, `${sleeping} probes still run`);
  await ok(docker(fx.d, ["rm", "-f", "slowprobe"]));
  const bad = await docker(fx.d, ["create", "--health-cmd", "true", "--health-retries", "-1", fx.reg.image]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /retries/i);
});

test("the image's HEALTHCHECK applies; --no-healthcheck and --health-* override it; pier shows it", async () => {
  const work = await makeTempDir("pier-hc-img-");
  const image = `${new URL(fx.reg.registry.url).host}/hc:latest`;
  try {
    const rootfs = await writeBusyboxRootfs(join(work, "rootfs"));
    const store = await ImageStore.open(join(work, "store"));
    await createImage(store, rootfs, "hc:latest", {
      cmd: ["sleep", "1000"],
      healthcheck: { Test: ["CMD", "true"], Interval: 200e6, Retries: 1 },
    });
    await push(image, {
      storeRoot: join(work, "store"),
      localName: "docker.io/library/hc:latest",
      insecure: true,
    });
  } finally {
    await removeTempDir(work);
  }
  await ok(docker(fx.d, ["run", "-d", "--name", "fromimage", image]));
  await until(
    () => health("fromimage"),
    (h) => h?.Status === "healthy",
    "healthy from the image's check",
  );
  assert.equal(
    await ok(docker(fx.d, ["inspect", "-f", "{{json .Config.Healthcheck}}", "fromimage"])),
    '{"Test":["CMD","true"],"Interval":200000000,"Retries":1}',
  );
  await ok(docker(fx.d, ["run", "-d", "--name", "nohc", "--no-healthcheck", image]));
  assert.equal(await health("nohc"), null);
  assert.notEqual(
    await ok(docker(fx.d, ["ps", "-q", "--filter", "health=none", "--filter", "name=nohc"])),
    "",
  );
  // --health-cmd replaces the image's test and keeps its interval.
  await ok(docker(fx.d, ["run", "-d", "--name", "override", "--health-cmd", "false", image]));
  await until(
    () => health("override"),
    (h) => h?.Status === "unhealthy",
    "unhealthy by the override",
  );
  // pier: the same flags, and the health in ps and inspect.
  await ok(
    pier(fx.d, [
      "run",
      "-d",
      "--name",
      "pierhc",
      "--health-cmd",
      "true",
      "--health-interval",
      "200ms",
      "--init",
      fx.reg.image,
      "sleep",
      "1000",
    ]),
  );
  await until(
    () => pier(fx.d, ["ps", "--format", "{{.Names}} {{.Status}}"]).then((r) => r.stdout),
    (s) => s.split("\n").some((l) => /^pierhc Up .* \(healthy\)$/.test(l)),
    "pier ps (healthy)",
  );
  const rec = JSON.parse(await ok(pier(fx.d, ["inspect", "pierhc"]))) as { health: { Status: string } }[];
  assert.equal(rec[0]?.health.Status, "healthy");
  assert.equal(
    (await ok(docker(fx.d, ["exec", "pierhc", "cat", "/proc/1/cmdline"]))).split("\0")[0],
    "/sbin/docker-init",
  );
  await ok(pier(fx.d, ["run", "-d", "--name", "piernohc", "--no-healthcheck", image]));
  assert.equal(await health("piernohc"), null);
  await ok(
    pier(fx.d, [
      "run",
      "-d",
      "--name",
      "piersig",
      "--stop-signal",
      "SIGUSR1",
      "--init",
      fx.reg.image,
      "sleep",
      "1000",
    ]),
  );
  await ok(pier(fx.d, ["stop", "piersig"]));
  assert.equal(await ok(docker(fx.d, ["inspect", "-f", "{{.State.ExitCode}}", "piersig"])), "138");
  await ok(docker(fx.d, ["rm", "-f", "fromimage", "nohc", "override", "pierhc", "piernohc", "piersig"]));
});

test("probes stop when pierd stops and go on after it restarts, with the state kept", async () => {
  await ok(
    docker(fx.d, [
      "run",
      "-d",
      "--name",
      "survivor",
      "--health-cmd",
      "true",
      "--health-interval",
      "200ms",
      fx.reg.image,
      "sleep",
      "1000",
    ]),
  );
  await until(
    () => health("survivor"),
    (h) => h?.Status === "healthy",
    "healthy",
  );
  await fx.d.crash();
  await fx.d.restart();
  const kept = await health("survivor");
  assert.equal(kept?.Status, "healthy");
  const before = JSON.stringify(kept?.Log.at(-1));
  await until(
    () => health("survivor"),
    (h) => JSON.stringify(h?.Log.at(-1)) !== before,
    "a probe after the restart",
  );
  await ok(docker(fx.d, ["rm", "-f", "survivor"]));
});
