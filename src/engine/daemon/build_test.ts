/**
 * `docker build` (the classic builder protocol, POST /build) through pierd, with the stock
 * docker CLI: the context tar streamed in, the JSON progress out, the image in pierd's store.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { type BusyboxRegistry, docker, pier, type TestDaemon, useTestDaemon } from "../../testing/engine.js";
import { socketRequest } from "../../testing/socket-request.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
useTestDaemon({
  ready: (fx) => {
    ({ reg, d } = fx);
  },
});

function dockerBuild(args: string[], env: Record<string, string> = { DOCKER_BUILDKIT: "0" }) {
  return docker(d, ["build", ...args], { timeout: 120000, env });
}

async function context(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(d.dir, name);
  for (const [f, content] of Object.entries(files)) {
    await mkdir(join(dir, f, ".."), { recursive: true });
    await writeFile(join(dir, f), content);
  }
  return dir;
}

test("docker build (DOCKER_BUILDKIT=0) builds through pierd; docker run runs the result; a rebuild uses the cache", async () => {
  const dir = await context("ctx1", {
    Dockerfile: `FROM ${reg.image}\nARG WHO=nobody\nCOPY msg.txt /msg.txt\nRUN echo "built for $WHO" >> /msg.txt\nCMD ["cat", "/msg.txt"]\n`,
    "msg.txt": "hello\n",
    ".dockerignore": "secret\n",
    secret: "x",
  });
  const b = await dockerBuild(["-t", "built:1", "--build-arg", "WHO=docker", dir]);
  assert.equal(b.status, 0, b.stderr + b.stdout);
  assert.match(b.stdout, /Step 1\/5 : FROM /);
  assert.match(b.stdout, /Successfully built [0-9a-f]{12}/);
  assert.match(b.stdout, /Successfully tagged built:1/);
  const r = await docker(d, ["run", "--rm", "built:1"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "hello\nbuilt for docker\n");
  const again = await dockerBuild(["-t", "built:1", "--build-arg", "WHO=docker", dir]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout.match(/Using cache/g)?.length, 2, again.stdout);
  const inspect = await docker(d, ["image", "inspect", "built:1", "--format", "{{json .Config.Cmd}}"]);
  assert.equal(inspect.stdout.trim(), '["cat","/msg.txt"]');
});

test("docker build -f, --target and a failing RUN reported in the stream with a non-zero exit", async () => {
  const dir = await context("ctx2", {
    "other.Dockerfile": `FROM ${reg.image} AS ok\nRUN echo fine > /f\nFROM ok\nRUN echo no && exit 7\n`,
  });
  const ok = await dockerBuild([
    "-f",
    join(dir, "other.Dockerfile"),
    "--target",
    "ok",
    "-t",
    "target:1",
    dir,
  ]);
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  const bad = await dockerBuild(["-f", join(dir, "other.Dockerfile"), dir]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr + bad.stdout, /other\.Dockerfile:4: .*exit code 7/);
});

test("POST /build refuses options it would not apply, and a context tar whose entries leave the directory", async () => {
  const post = async (path: string, body: Buffer) => {
    const r = await socketRequest(d.dockerSocket, "POST", path, body, {
      "Content-Type": "application/x-tar",
    });
    return { status: r.status, text: r.body };
  };
  const r = await post("/build?memory=1000000", Buffer.alloc(0));
  assert.equal(r.status, 400, r.text);
  assert.match(r.text, /memory=1000000 is not supported/);
  // A tar with an entry "../escape": refused, nothing written outside.
  const header = Buffer.alloc(512);
  header.write("../escape", 0);
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write("00000000001\0", 124);
  header.write("00000000000\0", 136);
  header.write("0", 156);
  header.write("ustar\0", 257);
  header.write("00", 263);
  header.fill(" ", 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const tar = Buffer.concat([header, Buffer.from("x".padEnd(512, "\0")), Buffer.alloc(1024)]);
  const esc = await post("/build", tar);
  assert.notEqual(esc.status, 200, esc.text);
  assert.match(esc.text, /escape/);
});

test("pier build into pierd's store, then pier run: a two-stage build", async () => {
  const dir = await context("ctx3", {
    Dockerfile: `FROM ${reg.image} AS build\nRUN echo compiled > /artifact\nFROM ${reg.image}\nCOPY --from=build /artifact /artifact\nCMD ["cat", "/artifact"]\n`,
  });
  const b = await pier(d, ["--root", d.root, "build", "-t", "two-stage:1", dir], { timeout: 120000 });
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stderr, /#\d+ \[build 2\/2\] RUN echo compiled/);
  assert.match(b.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const r = await pier(d, ["run", "--rm", "two-stage:1"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "compiled\n");
});

test("a build emits image tag events; docker builder prune reclaims the cache with a builder prune event", async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const dir = await context("ctx-prune", {
    Dockerfile: `FROM ${reg.image}\nCOPY f /f\nRUN --mount=type=cache,target=/c echo x > /c/x && cp /f /g\n`,
    f: "data\n",
  });
  const b = await dockerBuild(["-t", "pruned:1", dir]);
  assert.equal(b.status, 0, b.stderr + b.stdout);
  const prune = await docker(d, ["builder", "prune", "-a", "-f"]);
  assert.equal(prune.status, 0, prune.stderr);
  const reclaimed = /Total:?\s+(?:reclaimed space:\s*)?([\d.]+)\s*([kMG]?B)/i.exec(prune.stdout);
  assert.ok(reclaimed && Number(reclaimed[1]) > 0, prune.stdout);
  const until = Math.floor(Date.now() / 1000) + 1;
  const events = await docker(d, [
    "events",
    "--since",
    String(since),
    "--until",
    String(until),
    "--format",
    "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
  ]);
  assert.equal(events.status, 0, events.stderr);
  assert.match(events.stdout, /^image tag pruned:1$/m);
  assert.match(events.stdout, /^builder prune /m);
  // Everything went: a rebuild runs every step again.
  const again = await dockerBuild(["-t", "pruned:1", dir]);
  assert.equal(again.status, 0, again.stderr + again.stdout);
  assert.doesNotMatch(again.stdout, /Using cache/);
});
