import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { errorCode, startTestRegistry, type TestRegistry } from "../../testing/registry.js";
import { writeTestLayout } from "../../testing/registry-layout.js";
import { runTool } from "../../testing/umoci.js";
import { htpasswdSet } from "./htpasswd.js";

let dir: string;
const skopeo = (...args: string[]) => runTool("skopeo", ["--insecure-policy", ...args]);
const basic = (user: string, pw: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString("base64")}`,
});

before(async () => {
  dir = await makeTempDir("pier-registry-auth-");
  await htpasswdSet(join(dir, "htpasswd"), "alice", "alice-pw");
  await htpasswdSet(join(dir, "htpasswd"), "bob", "old");
  await htpasswdSet(join(dir, "htpasswd"), "bob", "bob-pw");
  await writeTestLayout(join(dir, "src"));
});
after(() => removeTempDir(dir));

const policy = {
  groups: { devs: ["alice"] },
  rules: [
    {
      repositories: ["**"],
      groups: ["devs"],
      actions: ["pull" as const, "push" as const, "delete" as const],
    },
    { repositories: ["**"], users: ["bob"], actions: ["pull" as const] },
  ],
};

describe("basic auth", () => {
  let t: TestRegistry;
  before(async () => {
    t = await startTestRegistry((c) => {
      c.auth = { mode: "basic", htpasswd: join(dir, "htpasswd"), access: policy };
    });
  });
  after(() => t.stop());

  test("no or wrong credentials are UNAUTHORIZED with a Basic challenge", async () => {
    const none = await fetch(`${t.url}/v2/`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Basic realm="pier"');
    assert.equal(await errorCode(none), "UNAUTHORIZED");
    const wrong = await fetch(`${t.url}/v2/`, { headers: basic("alice", "nope") });
    assert.equal(wrong.status, 401);
    await wrong.arrayBuffer();
    const updated = await fetch(`${t.url}/v2/`, { headers: basic("bob", "old") });
    assert.equal(updated.status, 401, "htpasswdSet replaced bob's password");
    await updated.arrayBuffer();
    assert.equal((await fetch(`${t.url}/v2/`, { headers: basic("alice", "alice-pw") })).status, 200);
  });

  test("a user the rules refuse is DENIED", async () => {
    const res = await fetch(`${t.url}/v2/x/blobs/uploads/`, {
      method: "POST",
      headers: basic("bob", "bob-pw"),
    });
    assert.equal(res.status, 403);
    assert.equal(await errorCode(res), "DENIED");
  });

  test("skopeo pushes with --dest-creds and lists with --creds", async () => {
    const dest = `docker://${t.reg.host}/auth/basic:v1`;
    await skopeo(
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      "alice:alice-pw",
      `oci:${join(dir, "src")}:multi-layer`,
      dest,
    );
    const tags = JSON.parse(
      await skopeo("list-tags", "--tls-verify=false", "--creds", "bob:bob-pw", dest.replace(/:v1$/, "")),
    ) as {
      Tags: string[];
    };
    assert.deepEqual(tags.Tags, ["v1"]);
    await assert.rejects(
      skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        "bob:bob-pw",
        `oci:${join(dir, "src")}:multi-layer`,
        dest,
      ),
      /denied|unauthorized/i,
    );
  });
});

describe("token auth", () => {
  let t: TestRegistry;
  before(async () => {
    t = await startTestRegistry((c) => {
      c.auth = {
        mode: "token",
        htpasswd: join(dir, "htpasswd"),
        token: { service: "pier-test", issuer: "pier-test-issuer" },
        access: { ...policy, anonymousPull: true },
      };
    });
  });
  after(() => t.stop());

  test("requests without a token get a Bearer challenge naming realm, service and scope", async () => {
    const res = await fetch(`${t.url}/v2/a/b/tags/list`);
    assert.equal(res.status, 401);
    assert.equal(
      res.headers.get("www-authenticate"),
      `Bearer realm="${t.url}/token",service="pier-test",scope="repository:a/b:pull"`,
    );
    assert.equal(await errorCode(res), "UNAUTHORIZED");
  });

  test("the token endpoint grants what the rules allow, and the registry enforces the scope", async () => {
    const get = async (scope: string, user?: [string, string]) => {
      const res = await fetch(`${t.url}/token?service=pier-test&scope=${encodeURIComponent(scope)}`, {
        headers: user ? basic(...user) : {},
      });
      assert.equal(res.status, 200);
      return ((await res.json()) as { token: string }).token;
    };
    const bobToken = await get("repository:tok/x:pull,push", ["bob", "bob-pw"]);
    const push = await fetch(`${t.url}/v2/tok/x/blobs/uploads/`, {
      method: "POST",
      headers: { Authorization: `Bearer ${bobToken}` },
    });
    assert.equal(push.status, 401);
    assert.match(push.headers.get("www-authenticate")!, /error="insufficient_scope"/);
    await push.arrayBuffer();
    const aliceToken = await get("repository:tok/x:pull,push", ["alice", "alice-pw"]);
    const ok = await fetch(`${t.url}/v2/tok/x/blobs/uploads/`, {
      method: "POST",
      headers: { Authorization: `Bearer ${aliceToken}` },
    });
    assert.equal(ok.status, 202);
    const anon = await get("repository:tok/x:pull,push");
    const anonPush = await fetch(`${t.url}/v2/tok/x/blobs/uploads/`, {
      method: "POST",
      headers: { Authorization: `Bearer ${anon}` },
    });
    assert.equal(anonPush.status, 401);
    await anonPush.arrayBuffer();
    const forged = await fetch(`${t.url}/v2/`, {
      headers: { Authorization: `Bearer ${aliceToken.slice(0, -4)}AAAA` },
    });
    assert.equal(forged.status, 401);
    assert.match(forged.headers.get("www-authenticate")!, /invalid_token/);
    await forged.arrayBuffer();
    const post = await fetch(`${t.url}/token`, { method: "POST", body: "grant_type=password" });
    assert.equal(post.status, 404, "OAuth2 POST is refused so clients fall back to GET");
    await post.arrayBuffer();
    const badCreds = await fetch(`${t.url}/token?service=pier-test`, { headers: basic("alice", "x") });
    assert.equal(badCreds.status, 401);
    await badCreds.arrayBuffer();
  });

  test("skopeo pushes and lists through the token flow with --creds", async () => {
    const dest = `docker://${t.reg.host}/auth/token:v1`;
    await skopeo(
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      "alice:alice-pw",
      `oci:${join(dir, "src")}:multi-layer`,
      dest,
    );
    const tags = JSON.parse(
      await skopeo("list-tags", "--tls-verify=false", "--creds", "alice:alice-pw", dest.replace(/:v1$/, "")),
    ) as {
      Tags: string[];
    };
    assert.deepEqual(tags.Tags, ["v1"]);
    // Anonymous pull works without credentials.
    await skopeo("inspect", "--raw", "--tls-verify=false", "--no-creds", dest);
  });
});
