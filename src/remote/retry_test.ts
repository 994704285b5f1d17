import assert from "node:assert/strict";
import { test } from "node:test";
import { isRetryableNetworkError, isRetryableStatus, parseRetryAfter, retryDelay } from "./retry.js";

test("retryable statuses", () => {
  for (const s of [408, 429, 500, 502, 503, 504]) assert.equal(isRetryableStatus(s), true, String(s));
  for (const s of [200, 400, 401, 403, 404, 416, 501]) assert.equal(isRetryableStatus(s), false, String(s));
});

test("Retry-After as seconds and as an HTTP date", () => {
  assert.equal(parseRetryAfter("3"), 3000);
  const now = Date.parse("2025-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("Wed, 01 Jan 2025 00:00:05 GMT", now), 5000);
  assert.equal(parseRetryAfter("soon"), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});

test("backoff grows, is capped, honours Retry-After and stops after the budget", () => {
  const policy = { retries: 3, baseDelayMs: 100, maxDelayMs: 250 };
  assert.equal(
    retryDelay(1, undefined, policy, () => 1),
    100,
  );
  assert.equal(
    retryDelay(2, undefined, policy, () => 1),
    200,
  );
  assert.equal(
    retryDelay(3, undefined, policy, () => 1),
    250,
  );
  assert.equal(
    retryDelay(3, undefined, policy, () => 0),
    125,
  );
  assert.equal(retryDelay(1, 2000, policy), 250);
  assert.equal(retryDelay(1, 50, policy), 50);
  assert.equal(retryDelay(4, undefined, policy), undefined);
});

test("network errors are recognised through causes", () => {
  const e = new Error("fetch failed", { cause: Object.assign(new Error("x"), { code: "ECONNRESET" }) });
  assert.equal(isRetryableNetworkError(e), true);
  assert.equal(isRetryableNetworkError(new Error("bad json")), false);
});
