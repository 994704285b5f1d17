import assert from "node:assert/strict";
import { test } from "node:test";
import { checkLogConfig, logRotation, parseHumanSize } from "./log-options.js";

test("sizes read as Docker's FromHumanSize (decimal units)", () => {
  assert.equal(parseHumanSize("1k"), 1000);
  assert.equal(parseHumanSize("10m"), 10_000_000);
  assert.equal(parseHumanSize("1.5MB"), 1_500_000);
  assert.equal(parseHumanSize("2KiB"), 2000);
  assert.equal(parseHumanSize("512"), 512);
  assert.throws(() => parseHumanSize("ten"), /invalid size: 'ten'/);
});

test("json-file options: rotation, defaults and refusals that name the problem", () => {
  assert.deepEqual(logRotation({ "max-size": "1k", "max-file": "3" }), { maxSize: 1000, maxFiles: 3 });
  assert.deepEqual(logRotation({ "max-size": "1k" }), { maxSize: 1000, maxFiles: 1 });
  assert.equal(logRotation({ "max-file": "3" }), undefined);
  assert.equal(logRotation(undefined), undefined);
  assert.deepEqual(checkLogConfig("json-file", { "max-size": "10m" }), { "max-size": "10m" });
  assert.deepEqual(checkLogConfig("", null), {});
  assert.throws(() => checkLogConfig("syslog", {}), /logging driver "syslog" is not supported/);
  assert.throws(() => checkLogConfig("json-file", { compress: "true" }), /unknown log opt 'compress'/);
  assert.throws(() => checkLogConfig("json-file", { "max-file": "0" }), /max-file cannot be less than 1/);
  assert.throws(() => checkLogConfig("json-file", { "max-size": "0" }), /max-size must be a positive/);
  assert.throws(() => checkLogConfig("json-file", { "max-size": 5 }), /max-size must be a string/);
});
