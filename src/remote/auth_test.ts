import assert from "node:assert/strict";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { hostPlatform } from "../oci/platform.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { type RunningRegistry, startDockerRegistry } from "../testing/remote-docker-registry.js";
import { writeBusyboxImage } from "../testing/remote-image.js";
import { startTokenServer, type TokenServer } from "../testing/remote-token-server.js";
import { resolveCredentials } from "./auth/credentials.js";
import { copy } from "./copy-transports.js";
import { listTags } from "./inspect.js";
import { login, logout } from "./login.js";
import { pull } from "./pull.js";

let tmp: string;
let layout: string;
let imageDigest: string;
before(async () => {
  tmp = await makeTempDir("pier-remote-auth-");
  layout = join(tmp, "layout");
  imageDigest = (await writeBusyboxImage(layout, "v1", hostPlatform())).digest;
});
after(async () => {
  if (tmp) await removeTempDir(tmp);
});

describe("docker-registry with htpasswd", () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startDockerRegistry({ kind: "htpasswd", users: { alice: "s3cret" } });
  });
  after(() => reg?.stop());

  test("anonymous and wrong password are refused with UNAUTHORIZED", async () => {
    const none = join(tmp, "none.json");
    await assert.rejects(
      copy(`oci:${layout}:v1`, `docker://${reg.host}/a/img:v1`, { insecure: true, configPath: none }),
      {
        code: "UNAUTHORIZED",
      },
    );
    await assert.rejects(
      login(
        reg.host,
        { username: "alice", password: "nope" },
        { insecure: true, configPath: join(tmp, "bad.json") },
      ),
      { code: "UNAUTHORIZED" },
    );
    await assert.rejects(readFile(join(tmp, "bad.json")), { code: "ENOENT" });
  });

  test("login stores credentials in config.json; push, tags and pull use them; logout forgets", async () => {
    const configPath = join(tmp, "docker", "config.json");
    await login(reg.host, { username: "alice", password: "s3cret" }, { insecure: true, configPath });
    const stored = JSON.parse(await readFile(configPath, "utf8"));
    assert.equal(Buffer.from(stored.auths[reg.host].auth, "base64").toString(), "alice:s3cret");
    const res = await copy(`oci:${layout}:v1`, `docker://${reg.host}/a/img:v1`, {
      insecure: true,
      configPath,
    });
    assert.equal(res.digest, imageDigest);
    assert.deepEqual(await listTags(`${reg.host}/a/img`, { insecure: true, configPath }), ["v1"]);
    const pulled = await pull(`${reg.host}/a/img:v1`, {
      insecure: true,
      configPath,
      storeRoot: join(tmp, "s1"),
    });
    assert.equal(pulled.digest, imageDigest);
    assert.equal(await logout(reg.host, { configPath }), true);
    assert.equal(await resolveCredentials(reg.host, { configPath }), undefined);
  });

  test("credentials from a docker-credential helper script", async () => {
    const bin = join(tmp, "bin");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(bin, { recursive: true });
    const helper = join(bin, "docker-credential-piertest");
    await writeFile(
      helper,
      `#!/bin/sh\nread server\nif [ "$1" = get ] && [ "$server" = "${reg.host}" ]; then\n` +
        `  echo '{"ServerURL":"${reg.host}","Username":"alice","Secret":"s3cret"}'; exit 0\nfi\n` +
        `echo "credentials not found in native keychain"; exit 1\n`,
    );
    await chmod(helper, 0o755);
    const configPath = join(tmp, "helper.json");
    await writeFile(configPath, JSON.stringify({ credHelpers: { [reg.host]: "piertest" } }));
    const creds = await resolveCredentials(reg.host, { configPath, helperDirs: [bin] });
    assert.deepEqual(creds, { username: "alice", password: "s3cret" });
    assert.equal(await resolveCredentials("other.example", { configPath, helperDirs: [bin] }), undefined);
    const res = await copy(`oci:${layout}:v1`, `docker://${reg.host}/helper/img:v1`, {
      insecure: true,
      configPath,
      helperDirs: [bin],
    });
    assert.equal(res.digest, imageDigest);
  });
});

describe("docker-registry with token auth", () => {
  let tokens: TokenServer;
  let reg: RunningRegistry;
  before(async () => {
    tokens = await startTokenServer("bob", "pw");
    reg = await startDockerRegistry({ kind: "token", ...tokens });
  });
  after(async () => {
    await reg?.stop();
    await tokens?.stop();
  });

  test("credentialed GET tokens push and pull; tokens are cached per scope", async () => {
    const configPath = join(tmp, "tok.json");
    await writeFile(
      configPath,
      JSON.stringify({ auths: { [reg.host]: { username: "bob", password: "pw" } } }),
    );
    const res = await copy(`oci:${layout}:v1`, `docker://${reg.host}/t/img:v1`, {
      insecure: true,
      configPath,
    });
    assert.equal(res.digest, imageDigest);
    const pushRequests = tokens.requests.filter((r) => r.scopes.some((s) => s.includes("t/img:pull,push")));
    assert.equal(pushRequests.length, 1, JSON.stringify(tokens.requests));
    const pulled = await pull(`${reg.host}/t/img:v1`, {
      insecure: true,
      configPath,
      storeRoot: join(tmp, "s2"),
    });
    assert.equal(pulled.digest, imageDigest);
    assert.ok(tokens.requests.every((r) => r.method === "GET"));
  });

  test("an identity token is exchanged with the OAuth2 POST form", async () => {
    const configPath = join(tmp, "oauth.json");
    await writeFile(
      configPath,
      JSON.stringify({ auths: { [reg.host]: { identitytoken: tokens.refreshToken } } }),
    );
    const before = tokens.requests.length;
    const pulled = await pull(`${reg.host}/t/img:v1`, {
      insecure: true,
      configPath,
      storeRoot: join(tmp, "s3"),
    });
    assert.equal(pulled.digest, imageDigest);
    assert.ok(tokens.requests.slice(before).some((r) => r.method === "POST" && r.account === "bob"));
  });

  test("anonymous access gets a token without rights: UNAUTHORIZED", async () => {
    await assert.rejects(
      pull(`${reg.host}/t/img:v1`, {
        insecure: true,
        configPath: join(tmp, "none.json"),
        storeRoot: join(tmp, "s4"),
      }),
      { code: "UNAUTHORIZED" },
    );
  });

  test("login through the token service checks the password", async () => {
    const configPath = join(tmp, "tlogin.json");
    await assert.rejects(
      login(reg.host, { username: "bob", password: "wrong" }, { insecure: true, configPath }),
      {
        code: "UNAUTHORIZED",
      },
    );
    await login(reg.host, { username: "bob", password: "pw" }, { insecure: true, configPath });
    assert.deepEqual(await resolveCredentials(reg.host, { configPath }), { username: "bob", password: "pw" });
  });
});
