/**
 * `docker login` against pierd (`POST /auth`: the credentials checked against the registry) and
 * the credentials the docker CLI holds reaching the registry with each push and pull
 * (`X-Registry-Auth`), against pier's own registry with basic auth on. Without credentials the
 * CLI gets the registry's refusal, not an interactive prompt.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { htpasswdSet } from "../../registry/auth/htpasswd.js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { type BusyboxRegistry, docker, type TestDaemon, useTestDaemon } from "../../testing/engine.js";
import { startTestRegistry, type TestRegistry } from "../../testing/registry.js";
import { credentialsOf, loginRegistry, registryAuthHeader } from "../registry-auth.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
useTestDaemon({
  ready: (fx) => {
    ({ reg, d } = fx);
  },
  pull: true,
});

let authed: TestRegistry;
let dir: string;
let host: string;
before(async () => {
  dir = await makeTempDir("pier-login-");
  await htpasswdSet(join(dir, "htpasswd"), "alice", "alice-pw");
  authed = await startTestRegistry((c) => {
    c.auth = { mode: "basic", htpasswd: join(dir, "htpasswd") };
  });
  host = new URL(authed.url).host;
});
after(async () => {
  await authed?.stop();
  await removeTempDir(dir);
});

test("pure parts: X-Registry-Auth decoding, the auth field, login addresses", () => {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  assert.deepEqual(registryAuthHeader(enc({ username: "u", password: "p", serveraddress: "h" })), {
    username: "u",
    password: "p",
  });
  assert.equal(registryAuthHeader(enc({})), undefined);
  assert.equal(registryAuthHeader(undefined), undefined);
  assert.deepEqual(credentialsOf({ auth: Buffer.from("u:p:q").toString("base64") }), {
    username: "u",
    password: "p:q",
  });
  assert.throws(() => registryAuthHeader("%%%"), /X-Registry-Auth/);
  assert.throws(() => credentialsOf({ registrytoken: "t" }), /registrytoken/);
  assert.throws(() => credentialsOf({ bogus: "x" } as never), /unknown registry auth field "bogus"/);
  assert.equal(loginRegistry("https://index.docker.io/v1/"), "docker.io");
  assert.equal(loginRegistry("127.0.0.1:5000"), "127.0.0.1:5000");
  assert.equal(loginRegistry("http://localhost:5000/v2/"), "localhost:5000");
  assert.throws(() => loginRegistry("a b"), /invalid registry address/);
});

test("docker login checks the password with the registry; push and pull then carry the credentials", async () => {
  const wrong = await docker(d, ["login", host, "-u", "alice", "--password-stdin"], { input: "nope\n" });
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr, /unauthorized|authentication required|401/i);
  const login = await docker(d, ["login", host, "-u", "alice", "--password-stdin"], { input: "alice-pw\n" });
  assert.equal(login.status, 0, login.stderr);
  assert.match(login.stdout, /Login Succeeded/);
  const image = `${host}/team/bb:1`;
  assert.equal((await docker(d, ["tag", reg.image, image])).status, 0);
  const push = await docker(d, ["push", image]);
  assert.equal(push.status, 0, push.stderr);
  assert.match(push.stdout, /1: digest: sha256:[a-f0-9]{64}/);
  assert.equal((await docker(d, ["rmi", image])).status, 0);
  const pull = await docker(d, ["pull", image]);
  assert.equal(pull.status, 0, pull.stderr);
  assert.equal((await docker(d, ["run", "--rm", image, "echo", "authed"])).stdout, "authed\n");
  // Logged out: the registry refuses, and the CLI says so instead of waiting at a prompt.
  assert.equal((await docker(d, ["logout", host])).status, 0);
  assert.equal((await docker(d, ["rmi", image])).status, 0);
  const started = Date.now();
  const anon = await docker(d, ["pull", image], { timeout: 30000 });
  assert.equal(anon.signal, null, anon.stderr);
  assert.notEqual(anon.status, 0);
  assert.doesNotMatch(anon.stderr, /Username:/);
  assert.match(
    anon.stderr,
    /pull access denied for .*team\/bb, repository does not exist or may require 'docker login'/,
  );
  assert.ok(Date.now() - started < 20000);
  assert.equal((await docker(d, ["tag", reg.image, image])).status, 0);
  const anonPush = await docker(d, ["push", image], { timeout: 30000 });
  assert.equal(anonPush.signal, null, anonPush.stderr);
  assert.notEqual(anonPush.status, 0);
  assert.doesNotMatch(anonPush.stderr, /Username:/);
  assert.match(anonPush.stderr, /HTTP 401: credentials missing or refused/);
});
