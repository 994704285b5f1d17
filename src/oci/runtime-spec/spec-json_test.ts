import assert from "node:assert/strict";
import { test } from "node:test";
import type { Spec } from "./config.js";
import { runtimeSpecJson } from "./spec-json.js";

test("runtimeSpecJson writes 64-bit seccomp values exactly, not rounded to a double", () => {
  const spec = {
    ociVersion: "1.0.2",
    linux: {
      seccomp: {
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [
          {
            names: ["personality"],
            action: "SCMP_ACT_ALLOW",
            args: [{ index: 0, value: 18446744073709551615n, valueTwo: 0n, op: "SCMP_CMP_EQ" }],
          },
        ],
      },
    },
  } as unknown as Spec;
  const text = runtimeSpecJson(spec);
  assert.match(text, /"value":18446744073709551615,"valueTwo":0,/);
  assert.equal(Number(JSON.parse(text).linux.seccomp.syscalls[0].args[0].valueTwo), 0);
});
