import assert from "node:assert/strict";
import { test } from "node:test";
import { digestOf } from "../oci/digest.js";
import { checkExpected } from "./verify.js";

test("checkExpected reports size before digest and names both values", () => {
  const actual = { digest: digestOf("abc"), size: 3 };
  assert.equal(checkExpected({}, actual), undefined);
  assert.equal(checkExpected({ digest: digestOf("abc"), size: 3 }, actual), undefined);
  const size = checkExpected({ digest: digestOf("x"), size: 4 }, actual);
  assert.equal(size?.code, "SIZE_MISMATCH");
  assert.match(size!.message, /expected 4 bytes, got 3/);
  const digest = checkExpected({ digest: digestOf("x") }, actual);
  assert.equal(digest?.code, "DIGEST_MISMATCH");
  assert.match(digest!.message, new RegExp(`expected ${digestOf("x")}, got ${digestOf("abc")}`));
});
