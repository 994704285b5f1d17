import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePsi } from "./psi.js";

describe("parsePsi", () => {
  it("reads some and full lines", () => {
    assert.deepEqual(
      parsePsi(
        "some avg10=1.97 avg60=1.29 avg300=0.68 total=9872735\nfull avg10=0.52 avg60=0.33 avg300=0.14 total=2584522\n",
      ),
      {
        some: { avg10: 1.97, avg60: 1.29, avg300: 0.68, total: 9872735 },
        full: { avg10: 0.52, avg60: 0.33, avg300: 0.14, total: 2584522 },
      },
    );
  });
  it("accepts a file without full and refuses one without some", () => {
    assert.deepEqual(parsePsi("some avg10=0.00 avg60=0.00 avg300=0.00 total=5"), {
      some: { avg10: 0, avg60: 0, avg300: 0, total: 5 },
    });
    assert.equal(parsePsi(""), undefined);
  });
});
