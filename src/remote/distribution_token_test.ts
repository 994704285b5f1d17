/**
 * Docker's registry (distribution 2.8) trusting pier's built-in token issuer: pier's registry
 * serves only `/token` (users from htpasswd), docker-registry's `rootcertbundle` holds a
 * self-signed certificate of the issuer's key, and the tokens' libtrust `kid` names that key.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { hostPlatform } from "../oci/platform.js";
import { htpasswdSet } from "../registry/auth/htpasswd.js";
import { TokenIssuer } from "../registry/auth/token.js";
import { defaultRegistryConfig } from "../registry/config.js";
import { type RunningRegistry as PierRegistry, startRegistry } from "../registry/server.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { type RunningRegistry, startDockerRegistry } from "../testing/remote-docker-registry.js";
import { writeBusyboxImage } from "../testing/remote-image.js";
import { writeSelfSignedKeyPair } from "../testing/tls-cert.js";
import { copy } from "./copy-transports.js";
import { listTags } from "./inspect.js";
import { pull, push } from "./pull.js";

const service = "pier-dreg-test";
const issuerName = "pier-token-test";

let tmp: string;
let layout: string;
let digest: string;
let pier: PierRegistry | undefined;
let dreg: RunningRegistry | undefined;

before(async () => {
  tmp = await makeTempDir("pier-remote-dtoken-");
  layout = join(tmp, "layout");
  digest = (await writeBusyboxImage(layout, "v1", hostPlatform())).digest;
  const htpasswd = join(tmp, "htpasswd");
  await htpasswdSet(htpasswd, "dave", "dave-pw");
  // docker-registry's rootcertbundle: a certificate of the very key pier's issuer signs with.
  const { keyFile, certPem } = await writeSelfSignedKeyPair(tmp, issuerName);
  pier = await startRegistry(
    {
      ...defaultRegistryConfig(),
      addr: "127.0.0.1:0",
      root: join(tmp, "pier"),
      auth: { mode: "token", htpasswd, token: { service, issuer: issuerName, key: keyFile } },
      log: { access: false },
    },
    { log: () => {} },
  );
  dreg = await startDockerRegistry({
    kind: "token",
    realm: `${pier.url}/token`,
    service,
    issuer: issuerName,
    certPem,
  });
});
after(async () => {
  await dreg?.stop();
  await pier?.close(1000);
  if (tmp) await removeTempDir(tmp);
});

describe("docker-registry with pier's token issuer", () => {
  // An absent config file: only the explicit credentials count, never the host's.
  const opts = () => ({
    insecure: true,
    configPath: join(tmp, "absent.json"),
    credentials: { username: "dave", password: "dave-pw" },
  });

  test("push, pull and copy round trips keep every digest", async () => {
    const host = dreg!.host;
    const r1 = await copy(`oci:${layout}:v1`, `docker://${host}/t/img:v1`, opts());
    assert.equal(r1.digest, digest);
    const store = join(tmp, "store");
    const r2 = await pull(`${host}/t/img:v1`, { ...opts(), storeRoot: store });
    assert.equal(r2.digest, digest);
    const r3 = await push(`${host}/u/img:v2`, { ...opts(), storeRoot: store, localName: `${host}/t/img:v1` });
    assert.equal(r3.digest, digest);
    const r4 = await copy(`docker://${host}/u/img:v2`, `docker://${host}/c/img:v3`, opts());
    assert.equal(r4.digest, digest);
    const r5 = await copy(`docker://${host}/c/img:v3`, `oci:${join(tmp, "back")}:v3`, opts());
    assert.equal(r5.digest, digest);
    assert.deepEqual(await listTags(`${host}/c/img`, opts()), ["v3"]);
  });

  test("wrong password and no credentials are UNAUTHORIZED", async () => {
    const host = dreg!.host;
    await assert.rejects(
      pull(`${host}/t/img:v1`, {
        ...opts(),
        credentials: { username: "dave", password: "nope" },
        storeRoot: join(tmp, "x1"),
      }),
      { code: "UNAUTHORIZED" },
    );
    const anonymous = { insecure: true, configPath: join(tmp, "absent.json") };
    await assert.rejects(copy(`oci:${layout}:v1`, `docker://${host}/t/anon:v1`, anonymous), {
      code: "UNAUTHORIZED",
    });
  });

  test("docker-registry accepts pier's tokens by kid and refuses another key's", async () => {
    const scope = "repository:t/img:pull";
    const res = await fetch(`${pier!.url}/token?service=${service}&scope=${encodeURIComponent(scope)}`, {
      headers: { Authorization: `Basic ${Buffer.from("dave:dave-pw").toString("base64")}` },
    });
    assert.equal(res.status, 200);
    const { token } = (await res.json()) as { token: string };
    const tags = (t: string) =>
      fetch(`http://${dreg!.host}/v2/t/img/tags/list`, { headers: { Authorization: `Bearer ${t}` } });
    const ok = await tags(token);
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.deepEqual(((await ok.json()) as { tags: string[] }).tags, ["v1"]);
    // Same issuer and service names, another key: its kid is unknown to the bundle.
    const stranger = new TokenIssuer({ issuer: issuerName, service });
    const forged = (await stranger.issue("dave", [{ type: "repository", name: "t/img", actions: ["pull"] }]))
      .token;
    const refused = await tags(forged);
    assert.equal(refused.status, 401);
    await refused.arrayBuffer();
  });
});
