/**
 * pierd pulls through the mirrors of `--registries-conf` for the stock docker CLI, shows them in
 * `docker info`, and rereads the file on SIGHUP while a container keeps running. The upstream
 * location is a trap listener on 127.0.0.1 that counts connections: no packet leaves the machine.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import {
  type BusyboxRegistry,
  busyboxRegistry,
  docker,
  pier,
  requireDocker,
  startTestDaemon,
  type TestDaemon,
} from "../../testing/engine.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
let tmp: string;
let confFile: string;
let trap: Server;
let trapPort: number;
let trapped = 0;
let mirror: string;

function conf(opts: { blocked?: boolean } = {}): string {
  return (
    `[[registry]]\nprefix = "docker.io/library/busybox"\nlocation = "127.0.0.1:${trapPort}/busybox"\n` +
    (opts.blocked ? "blocked = true\n" : "") +
    `[[registry.mirror]]\nlocation = "${mirror}/busybox"\n`
  );
}

async function waitForLog(text: string, from: number): Promise<void> {
  const until = Date.now() + 10000;
  while (!d.stderr().slice(from).includes(text)) {
    if (Date.now() > until) throw new Error(`pierd never logged "${text}": ${d.stderr().slice(from)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  requireDocker();
  tmp = await makeTempDir("pier-engine-mirrors-");
  reg = await busyboxRegistry();
  mirror = reg.image.split("/")[0]!;
  trap = createServer((s) => {
    trapped++;
    s.destroy();
  });
  await new Promise<void>((r) => trap.listen(0, "127.0.0.1", r));
  trapPort = (trap.address() as { port: number }).port;
  confFile = join(tmp, "registries.conf");
  await writeFile(confFile, conf());
  d = await startTestDaemon(["--registries-conf", confFile]);
});

after(async () => {
  await d?.stop();
  await reg?.stop();
  await new Promise((r) => trap?.close(r));
  if (tmp) await removeTempDir(tmp);
});

test("docker pull busybox comes from the mirror; docker info shows it", async () => {
  const pulled = await docker(d, ["pull", "busybox"]);
  assert.equal(pulled.status, 0, pulled.stderr);
  assert.equal(trapped, 0, "the upstream location was contacted");
  const info = await docker(d, ["info", "--format", "{{json .RegistryConfig}}"]);
  assert.equal(info.status, 0, info.stderr);
  const rc = JSON.parse(info.stdout) as {
    Mirrors: string[];
    IndexConfigs: Record<string, { Mirrors: string[]; Secure: boolean }>;
  };
  assert.deepEqual(rc.IndexConfigs["docker.io"]?.Mirrors, [`https://${mirror}/busybox`]);
  assert.deepEqual(rc.Mirrors, [`https://${mirror}/busybox`]);
  const text = await docker(d, ["info"]);
  assert.match(
    text.stdout,
    new RegExp(`Registry Mirrors:\\s+https://${mirror.replace(/\./g, "\\.")}/busybox`),
  );
  const ours = await pier(d, ["system", "info"]);
  assert.equal(ours.status, 0, ours.stderr);
  assert.match(ours.stdout, /Insecure Registries:\n 127\.0\.0\.0\/8\n/);
  assert.ok(ours.stdout.includes(`Registry Mirrors:\n https://${mirror}/busybox (docker.io)\n`), ours.stdout);
});

test("SIGHUP rereads registries.conf without touching running containers", async () => {
  const run = await docker(d, ["run", "-d", "busybox", "sleep", "300"]);
  assert.equal(run.status, 0, run.stderr);
  const id = run.stdout.trim();
  try {
    await writeFile(confFile, conf({ blocked: true }));
    let mark = d.stderr().length;
    d.proc.kill("SIGHUP");
    await waitForLog("registries configuration reloaded", mark);
    const refused = await docker(d, ["pull", "busybox"]);
    assert.notEqual(refused.status, 0, refused.stdout);
    assert.match(refused.stderr, /blocked/);
    const state = await docker(d, ["inspect", "-f", "{{.State.Running}}", id]);
    assert.equal(state.stdout.trim(), "true", state.stderr);
    // a broken file is reported and the configuration in force stays
    await writeFile(confFile, "[[registry]]\nprefix = 'x.io'\nlocation = 'y.io'\nmirrors = []\n");
    mark = d.stderr().length;
    d.proc.kill("SIGHUP");
    await waitForLog('unknown or unsupported key \\"mirrors\\"', mark);
    const still = await docker(d, ["pull", "busybox"]);
    assert.match(still.stderr, /blocked/);
    assert.equal(trapped, 0);
  } finally {
    await docker(d, ["rm", "-f", id]);
  }
});
