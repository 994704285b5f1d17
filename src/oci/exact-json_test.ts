import assert from "node:assert/strict";
import { test } from "node:test";
import { parseExactJson, stringifyExactJson } from "./exact-json.js";

const KEYS = new Set(["value"]);

test("big integers under the named keys come back exact; elsewhere as JSON.parse gives them", () => {
  const text =
    '{"value":18446744073709551615,"other":18446744073709551615,"small":5,"s":"12345678901234567890"}';
  const v = parseExactJson(text, KEYS) as Record<string, unknown>;
  assert.equal(v.value, 18446744073709551615n);
  assert.equal(v.other, JSON.parse(text).other);
  assert.equal(v.small, 5);
  assert.equal(v.s, "12345678901234567890", "digits inside strings stay a string");
  // Safe integers and non-integers stay numbers even under the keys.
  assert.deepEqual(parseExactJson('{"value":9007199254740991,"x":{"value":1.5e300}}', KEYS), {
    value: 9007199254740991,
    x: { value: 1.5e300 },
  });
  assert.throws(() => parseExactJson('{"value":12345678901234567890', KEYS), SyntaxError);
});

test("bigints are written as exact digits, strings that look like markers are left alone", () => {
  const text = stringifyExactJson({ a: 2n ** 64n - 1n, b: [-(2n ** 63n)], s: "\u0000bigint-x:1", n: 1 });
  assert.equal(text, '{"a":18446744073709551615,"b":[-9223372036854775808],"s":"\\u0000bigint-x:1","n":1}');
  assert.equal(stringifyExactJson({ x: "plain" }), JSON.stringify({ x: "plain" }));
});
