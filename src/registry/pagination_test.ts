import assert from "node:assert/strict";
import { test } from "node:test";
import { RegistryError } from "./errors.js";
import { cutPage, pageLimit, parsePageRequest } from "./pagination.js";

test("parsePageRequest reads n and last and refuses a bad n", () => {
  assert.deepEqual(parsePageRequest(new URLSearchParams("")), { n: undefined, last: "" });
  assert.deepEqual(parsePageRequest(new URLSearchParams("n=2&last=b")), { n: 2, last: "b" });
  assert.throws(
    () => parsePageRequest(new URLSearchParams("n=-1")),
    (e: unknown) => e instanceof RegistryError && e.status === 400,
  );
  assert.throws(() => parsePageRequest(new URLSearchParams("n=x")), RegistryError);
  assert.equal(pageLimit({ n: undefined, last: "" }, 50), 50);
  assert.equal(pageLimit({ n: 500, last: "" }, 50), 50);
});

test("cutPage links to the next page only when there is one", () => {
  assert.deepEqual(cutPage("/v2/a/tags/list", ["a", "b", "c"], 2), {
    items: ["a", "b"],
    link: '</v2/a/tags/list?n=2&last=b>; rel="next"',
  });
  assert.deepEqual(cutPage("/v2/a/tags/list", ["a", "b"], 2), { items: ["a", "b"] });
  assert.deepEqual(cutPage("/v2/a/tags/list", ["a"], 0), { items: [] });
});
