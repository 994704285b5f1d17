/**
 * pierd's daemon-wide init default (dockerd's `--init`), here from its config file: containers
 * that do not say get the init, `--init=false` (pier: `--no-init`) overrides it, and inspect
 * and `docker info` show what applies; a bad `--init` value stops pierd at once.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { docker, ok, PIERD_MAIN, pier, runCommand, useTestDaemon } from "../../testing/engine.js";

const configDir = mkdtempSync(join(tmpdir(), "pier-init-config-"));
writeFileSync(join(configDir, "pierd.json"), JSON.stringify({ init: true }));
after(() => rmSync(configDir, { recursive: true, force: true }));

/** A pierd whose config file says `"init": true`. */
const fx = useTestDaemon({ pull: true, extra: ["--config", join(configDir, "pierd.json")] });

/** PID 1's command line in a new container made with `args`, and its inspect's HostConfig.Init. */
async function pid1(cli: typeof docker, args: string[]): Promise<[string, string]> {
  const name = `init-${Math.random().toString(16).slice(2, 10)}`;
  const out = await ok(cli(fx.d, ["run", "--name", name, ...args, fx.reg.image, "cat", "/proc/1/cmdline"]));
  const init = await ok(docker(fx.d, ["inspect", "-f", "{{json .HostConfig.Init}}", name]));
  await ok(docker(fx.d, ["rm", name]));
  return [out.replaceAll("\0", " ").trim(), init];
}

test("containers get pierd's default init; --init=false / --no-init overrides it", async () => {
  assert.deepEqual(await pid1(docker, []), ["/sbin/docker-init -- cat /proc/1/cmdline", "true"]);
  assert.deepEqual(await pid1(pier, []), ["/sbin/docker-init -- cat /proc/1/cmdline", "true"]);
  assert.deepEqual(await pid1(docker, ["--init=false"]), ["cat /proc/1/cmdline", "false"]);
  assert.deepEqual(await pid1(pier, ["--no-init"]), ["cat /proc/1/cmdline", "false"]);
  assert.deepEqual(await pid1(docker, ["--init"]), ["/sbin/docker-init -- cat /proc/1/cmdline", "true"]);
});

test("docker info and pier system info show the init and its default", async () => {
  // The docker CLI keeps only the fields it knows: DefaultInit (pier's) is read through pier.
  assert.match(await ok(docker(fx.d, ["info"])), /Init Binary: docker-init/);
  const info = JSON.parse(await ok(pier(fx.d, ["system", "info", "--format", "json"]))) as Record<
    string,
    unknown
  >;
  assert.equal(info.InitBinary, "docker-init");
  assert.equal(info.DefaultInit, true);
  const text = await ok(pier(fx.d, ["system", "info"]));
  assert.match(text, /^Init Binary: docker-init$/m);
  assert.match(text, /^Default Init: true$/m);
});

test("pierd refuses a bad --init value before it starts", async () => {
  const r = await runCommand(process.execPath, [PIERD_MAIN, "--init=maybe", "--root", "/nonexistent"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--init.*want true or false, not "maybe"/);
});
