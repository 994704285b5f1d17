import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import {
  decodeAuthEntry,
  eraseCredentials,
  normalizeRegistryKey,
  resolveCredentials,
  storeCredentials,
} from "./credentials.js";

test("registry keys are normalised as docker matches them", () => {
  assert.equal(normalizeRegistryKey("https://index.docker.io/v1/"), "docker.io");
  assert.equal(normalizeRegistryKey("registry-1.docker.io"), "docker.io");
  assert.equal(normalizeRegistryKey("http://LocalHost:5000/"), "localhost:5000");
  assert.equal(normalizeRegistryKey("ghcr.io"), "ghcr.io");
});

test("auths entries: base64 auth, split fields, identity tokens; garbage is anonymous", () => {
  assert.deepEqual(decodeAuthEntry({ auth: Buffer.from("u:p:with:colons").toString("base64") }), {
    username: "u",
    password: "p:with:colons",
  });
  assert.deepEqual(decodeAuthEntry({ identitytoken: "tok" }), { identityToken: "tok" });
  assert.equal(decodeAuthEntry({ auth: Buffer.from("nocolon").toString("base64") }), undefined);
});

test("store keeps other keys, writes mode 0600, and finds Docker Hub under its legacy key", async () => {
  const dir = await makeTempDir();
  try {
    const configPath = join(dir, "config.json");
    await writeFile(configPath, JSON.stringify({ psFormat: "x", auths: { "other:1": { auth: "YTpi" } } }));
    await storeCredentials("docker.io", { username: "me", password: "pw" }, { configPath });
    const saved = JSON.parse(await readFile(configPath, "utf8"));
    assert.equal(saved.psFormat, "x");
    assert.ok(saved.auths["https://index.docker.io/v1/"]);
    assert.equal((await stat(configPath)).mode & 0o777, 0o600);
    assert.deepEqual(await resolveCredentials("index.docker.io", { configPath }), {
      username: "me",
      password: "pw",
    });
    assert.deepEqual(await resolveCredentials("other:1", { configPath }), { username: "a", password: "b" });
    assert.equal(await eraseCredentials("docker.io", { configPath }), true);
    assert.equal(await eraseCredentials("docker.io", { configPath }), false);
    await writeFile(configPath, "{not json");
    await assert.rejects(resolveCredentials("x", { configPath }), /not a valid Docker config file/);
  } finally {
    await removeTempDir(dir);
  }
});
