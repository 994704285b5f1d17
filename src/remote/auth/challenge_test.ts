import assert from "node:assert/strict";
import { test } from "node:test";
import { parseChallenges } from "./challenge.js";

test("parses a Bearer challenge with quoted params containing commas", () => {
  const c = parseChallenges(
    'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"',
  );
  assert.deepEqual(c, [
    {
      scheme: "bearer",
      params: {
        realm: "https://auth.example/token",
        service: "registry.example",
        scope: "repository:a/b:pull,push",
      },
    },
  ]);
});

test("parses Basic and several challenges in one header", () => {
  const c = parseChallenges('Basic realm="Registry Realm", Bearer realm="x", error="invalid_token"');
  assert.equal(c.length, 2);
  assert.deepEqual(c[0], { scheme: "basic", params: { realm: "Registry Realm" } });
  assert.deepEqual(c[1], { scheme: "bearer", params: { realm: "x", error: "invalid_token" } });
});

test("handles escaped quotes, unquoted values, arrays and garbage", () => {
  assert.deepEqual(parseChallenges(['Bearer realm="a\\"b"', "Basic realm=r"]), [
    { scheme: "bearer", params: { realm: 'a"b' } },
    { scheme: "basic", params: { realm: "r" } },
  ]);
  assert.deepEqual(parseChallenges(undefined), []);
  assert.deepEqual(parseChallenges(""), []);
});
