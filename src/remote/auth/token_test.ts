import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenCache, tokenFromResponse } from "./token.js";

test("token responses: token or access_token, expires_in defaulting to 60 s, issued_at honoured", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");
  assert.deepEqual(tokenFromResponse({ token: "a" }, now), { token: "a", expiresAt: now + 60_000 });
  assert.deepEqual(tokenFromResponse({ access_token: "b", expires_in: 300, refresh_token: "r" }, now), {
    token: "b",
    expiresAt: now + 300_000,
    refreshToken: "r",
  });
  assert.equal(
    tokenFromResponse({ token: "c", expires_in: 100, issued_at: "2024-12-31T23:59:00Z" }, now).expiresAt,
    now + 40_000,
  );
  assert.throws(() => tokenFromResponse({}), /without a token/);
});

test("the cache shares one fetch, renews before expiry and after invalidation", async () => {
  const cache = new TokenCache();
  const req = { realm: "https://a/token", service: "s", scopes: ["repository:x:pull"] };
  let fetches = 0;
  const fetch = async () => ({ token: `t${++fetches}`, expiresAt: 100_000 });
  const [a, b] = await Promise.all([cache.get(req, fetch, 0), cache.get(req, fetch, 0)]);
  assert.equal(a.token, "t1");
  assert.equal(b.token, "t1");
  assert.equal((await cache.get(req, fetch, 50_000)).token, "t1");
  assert.equal((await cache.get(req, fetch, 95_000)).token, "t2", "renewed within the expiry margin");
  cache.invalidate(req);
  assert.equal((await cache.get(req, fetch, 0)).token, "t3");
  const other = { ...req, scopes: ["repository:y:pull"] };
  assert.equal((await cache.get(other, fetch, 0)).token, "t4", "one token per scope");
});
