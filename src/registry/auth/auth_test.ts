import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { digestOf } from "../../oci/digest.js";
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
  await htpasswdSet(join(dir, "htpasswd"), "carol", "carol-pw");
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
    { repositories: ["team/**"], users: ["carol"], actions: ["pull" as const] },
    { repositories: ["carol/**"], users: ["carol"], actions: ["pull" as const, "push" as const] },
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

  test("the catalog lists only what the caller may pull", async () => {
    const alice = basic("alice", "alice-pw");
    for (const repo of ["secret/payroll-2027", "team/app", "team/web"]) {
      const res = await fetch(`${t.url}/v2/${repo}/blobs/uploads/`, { method: "POST", headers: alice });
      assert.equal(res.status, 202, repo);
    }
    const list = async (who: Record<string, string>, query = "") => {
      const res = await fetch(`${t.url}/v2/_catalog${query}`, { headers: who });
      assert.equal(res.status, 200);
      return {
        repos: ((await res.json()) as { repositories: string[] }).repositories,
        link: res.headers.get("link"),
      };
    };
    const all = await list(alice);
    assert.ok(all.repos.includes("secret/payroll-2027"));
    const carol = basic("carol", "carol-pw");
    assert.deepEqual((await list(carol)).repos, ["team/app", "team/web"], "no secret/payroll-2027");
    const page1 = await list(carol, "?n=1");
    assert.deepEqual(page1.repos, ["team/app"]);
    assert.equal(page1.link, '</v2/_catalog?n=1&last=team%2Fapp>; rel="next"');
    const page2 = await list(carol, "?n=1&last=team%2Fapp");
    assert.deepEqual(page2.repos, ["team/web"]);
    assert.equal(page2.link, null, "no next page: nothing after team/web that carol may see");
    const anon = await fetch(`${t.url}/v2/_catalog`);
    assert.equal(anon.status, 401);
    await anon.arrayBuffer();
  });

  test("/metrics needs valid credentials", async () => {
    const none = await fetch(`${t.url}/metrics`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Basic realm="pier"');
    await none.arrayBuffer();
    const wrong = await fetch(`${t.url}/metrics`, { headers: basic("carol", "nope") });
    assert.equal(wrong.status, 401);
    await wrong.arrayBuffer();
    const ok = await fetch(`${t.url}/metrics`, { headers: basic("carol", "carol-pw") });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /pier_registry_http_requests_total/);
  });

  test("a mount without from only takes the blob from a repository the caller may pull", async () => {
    const alice = basic("alice", "alice-pw");
    const carol = basic("carol", "carol-pw");
    const data = "in secret first";
    const digest = await pushBlobAs(t.url, "secret/payroll-2027", data, alice);
    const mount = () =>
      fetch(`${t.url}/v2/carol/x/blobs/uploads/?mount=${digest}`, { method: "POST", headers: carol });
    const refused = await mount();
    assert.equal(refused.status, 202, "carol may not read secret/**: a session, no mount");
    assert.equal(
      (await fetch(`${t.url}/v2/carol/x/blobs/${digest}`, { method: "HEAD", headers: carol })).status,
      404,
    );
    await pushBlobAs(t.url, "team/app", data, alice);
    const mounted = await mount();
    assert.equal(mounted.status, 201, "team/app is readable by carol");
    assert.equal(mounted.headers.get("docker-content-digest"), digest);
    const got = await fetch(`${t.url}/v2/carol/x/blobs/${digest}`, { headers: carol });
    assert.equal(await got.text(), data);
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

  test("a cached token is refused once its exp has passed", async () => {
    const short = await startTestRegistry((c) => {
      c.auth = {
        mode: "token",
        htpasswd: join(dir, "htpasswd"),
        token: { service: "pier-test", issuer: "pier-test-issuer", expiresIn: 3 },
        access: policy,
      };
    });
    try {
      const res = await fetch(`${short.url}/token?service=pier-test&scope=repository:exp/x:pull`, {
        headers: basic("alice", "alice-pw"),
      });
      const { token } = (await res.json()) as { token: string };
      const exp = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp as number;
      const use = () => fetch(`${short.url}/v2/`, { headers: { Authorization: `Bearer ${token}` } });
      // First use late in the token's life: the old cache trusted it for `expiresIn` from here.
      await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() - 800));
      assert.equal((await use()).status, 200);
      await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 300));
      const late = await use();
      assert.equal(late.status, 401, "past exp");
      assert.match(late.headers.get("www-authenticate")!, /invalid_token/);
      await late.arrayBuffer();
    } finally {
      await short.stop();
    }
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

/** `pushBlob` with credentials: a monolithic upload. */
async function pushBlobAs(url: string, repo: string, data: string, headers: Record<string, string>) {
  const digest = digestOf(data);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    headers,
    body: data,
  });
  assert.equal(res.status, 201, `push to ${repo}`);
  return digest;
}

test("metrics on their own address: served there without auth, not on the registry's", async () => {
  const t = await startTestRegistry((c) => {
    c.auth = { mode: "basic", htpasswd: join(dir, "htpasswd"), access: policy };
    c.metrics = { addr: "127.0.0.1:0" };
  });
  try {
    assert.ok(t.reg.metricsUrl);
    const here = await fetch(`${t.url}/metrics`, { headers: basic("alice", "alice-pw") });
    assert.equal(here.status, 404);
    await here.arrayBuffer();
    const there = await fetch(`${t.reg.metricsUrl}/metrics`);
    assert.equal(there.status, 200);
    assert.match(await there.text(), /pier_registry_http_requests_total/);
    assert.equal((await fetch(`${t.reg.metricsUrl}/v2/`)).status, 404, "only metrics there");
  } finally {
    await t.stop();
  }
});
