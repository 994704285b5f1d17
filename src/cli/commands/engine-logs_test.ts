import assert from "node:assert/strict";
import { test } from "node:test";
import { logTimeArg } from "./engine-logs.js";

test("--since/--until read durations, RFC 3339 times and unix seconds", () => {
  const now = Date.parse("2024-01-02T03:04:05Z");
  assert.equal(logTimeArg("10m", now), now / 1000 - 600);
  assert.equal(logTimeArg("1h30m", now), now / 1000 - 5400);
  assert.equal(logTimeArg("1700000000.5", now), 1700000000.5);
  assert.equal(logTimeArg("2024-01-02T03:04:00.25Z", now), now / 1000 - 5 + 0.25);
  assert.throws(() => logTimeArg("yesterday", now), /invalid time "yesterday"/);
});
