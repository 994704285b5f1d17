import assert from "node:assert/strict";
import { test } from "node:test";
import { ByteLru } from "./lru.js";
import { RateLimiter } from "./rate-limit.js";

test("ByteLru evicts the least recently used entries over its byte budget", () => {
  const lru = new ByteLru<string>(10);
  lru.set("a", Buffer.alloc(4));
  lru.set("b", Buffer.alloc(4));
  assert.ok(lru.get("a"));
  lru.set("c", Buffer.alloc(4));
  assert.equal(lru.get("b"), undefined);
  assert.ok(lru.get("a") && lru.get("c"));
  assert.equal(lru.size, 8);
  lru.set("huge", Buffer.alloc(11));
  assert.equal(lru.get("huge"), undefined);
});

test("RateLimiter allows a burst then refills at the rate", () => {
  const rl = new RateLimiter(2, 3);
  assert.deepEqual(
    [0, 0, 0, 0].map(() => rl.take("k", 1000)),
    [true, true, true, false],
  );
  assert.equal(rl.take("other", 1000), true);
  assert.equal(rl.take("k", 1500), true);
  assert.equal(rl.take("k", 1500), false);
});
