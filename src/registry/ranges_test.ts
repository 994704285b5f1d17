import assert from "node:assert/strict";
import { test } from "node:test";
import { parseContentRange, resolveRange, uploadRangeHeader } from "./ranges.js";

test("resolveRange resolves one byte range against the blob size", () => {
  assert.equal(resolveRange(undefined, 10), undefined);
  assert.deepEqual(resolveRange("bytes=0-4", 10), { start: 0, end: 4 });
  assert.deepEqual(resolveRange("bytes=5-", 10), { start: 5, end: 9 });
  assert.deepEqual(resolveRange("bytes=5-100", 10), { start: 5, end: 9 });
  assert.deepEqual(resolveRange("bytes=-3", 10), { start: 7, end: 9 });
  assert.equal(resolveRange("bytes=10-", 10), "unsatisfiable");
  assert.equal(resolveRange("bytes=4-2", 10), "unsatisfiable");
  assert.equal(resolveRange("bytes=0-1,3-4", 10), undefined);
  assert.equal(resolveRange("items=0-1", 10), undefined);
});

test("parseContentRange accepts distribution's and RFC forms and refuses the rest", () => {
  assert.deepEqual(parseContentRange("0-99"), { start: 0, end: 99 });
  assert.deepEqual(parseContentRange("bytes 100-199/*"), { start: 100, end: 199 });
  assert.deepEqual(parseContentRange("bytes=5-9"), { start: 5, end: 9 });
  assert.equal(parseContentRange(undefined), undefined);
  assert.equal(parseContentRange("9-5"), "invalid");
  assert.equal(parseContentRange("abc"), "invalid");
  assert.equal(parseContentRange("-5"), "invalid");
});

test("uploadRangeHeader says 0-0 for an empty session, as distribution does", () => {
  assert.equal(uploadRangeHeader(0), "0-0");
  assert.equal(uploadRangeHeader(1), "0-0");
  assert.equal(uploadRangeHeader(100), "0-99");
});
