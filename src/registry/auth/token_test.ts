import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { decodeProtectedHeader } from "jose";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { writeSelfSignedKeyPair } from "../../testing/tls-cert.js";
import { TokenIssuer } from "./token.js";

let dir: string;
before(async () => {
  dir = await makeTempDir("pier-token-issuer-");
});
after(() => removeTempDir(dir));

const access = [{ type: "repository", name: "a/b", actions: ["pull"] }];

test("tokens carry the key's libtrust kid and still verify with pier's own issuer", async () => {
  const { keyFile } = await writeSelfSignedKeyPair(dir, "token-test");
  const issuer = new TokenIssuer({ issuer: "iss", service: "svc", keyFile });
  const again = new TokenIssuer({ issuer: "iss", service: "svc", keyFile });
  assert.equal(issuer.keyId, again.keyId, "the kid depends only on the key");
  const { token } = await issuer.issue("alice", access);
  const header = decodeProtectedHeader(token);
  assert.equal(header.alg, "ES256");
  assert.equal(header.kid, issuer.keyId);
  const verified = await again.verify(token);
  assert.deepEqual({ ...verified, expiresAtMs: 0 }, { subject: "alice", access, expiresAtMs: 0 });
  const left = verified!.expiresAtMs - Date.now();
  assert.ok(left > 298_000 && left <= 300_000, `exp is the token's own, ${left} ms ahead`);
});

test("a token of another key, issuer or service does not verify", async () => {
  const issuer = new TokenIssuer({ issuer: "iss", service: "svc" });
  const stranger = new TokenIssuer({ issuer: "iss", service: "svc" });
  assert.notEqual(issuer.keyId, stranger.keyId);
  assert.equal(await issuer.verify((await stranger.issue("alice", access)).token), undefined);
  await mkdir(join(dir, "shared"));
  const { keyFile } = await writeSelfSignedKeyPair(join(dir, "shared"), "shared");
  const a = new TokenIssuer({ issuer: "iss", service: "svc", keyFile });
  const otherIss = new TokenIssuer({ issuer: "other", service: "svc", keyFile });
  const otherSvc = new TokenIssuer({ issuer: "iss", service: "other", keyFile });
  assert.equal(await a.verify((await otherIss.issue("alice", access)).token), undefined);
  assert.equal(await a.verify((await otherSvc.issue("alice", access)).token), undefined);
});
