import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultRuntimeSpec } from "./default-spec.js";
import { parseSpec, validateSpec } from "./validate.js";

// Deliberately loose: the tests break documents in ways the types forbid.
// biome-ignore lint/suspicious/noExplicitAny: test documents are mutated freely
type Json = Record<string, any>;

function withChange(change: (s: Json) => void): unknown {
  const s = JSON.parse(JSON.stringify(defaultRuntimeSpec()));
  change(s);
  return s;
}

test("the default spec validates", () => {
  const spec = validateSpec(withChange(() => {}));
  assert.equal(spec.process?.args?.[0], "sh");
});

test("errors name the offending field", () => {
  const cases: [(s: Json) => void, RegExp][] = [
    [(s) => (s.mounts[3].destination = "dev/shm"), /^mounts\[3\]\.destination: must be absolute/],
    [
      (s) => s.linux.namespaces.push({ type: "bogus" }),
      /^linux\.namespaces\[5\]\.type: unknown namespace type "bogus"/,
    ],
    [(s) => (s.process.user.uid = "0"), /^process\.user\.uid: must be a non-negative integer/],
    [(s) => (s.process.args = "sh"), /^process\.args: must be an array/],
    [(s) => delete s.ociVersion, /^ociVersion: is required/],
    [
      (s) => (s.linux.personality = { domain: "BSD" }),
      /^linux\.personality\.domain: must be LINUX or LINUX32/,
    ],
    [(s) => (s.linux.personality = { flags: [] }), /^linux\.personality\.domain: is required/],
    [
      (s) => (s.linux.personality = { domain: "LINUX32", flags: [1] }),
      /^linux\.personality\.flags\[0\]: must be a string/,
    ],
    [(s) => (s.hooks = { prestart: [{ path: "hook" }] }), /^hooks\.prestart\[0\]\.path: must be absolute/],
    [(s) => (s.process.env = ["NOEQUALS"]), /^process\.env\[0\]: must be KEY=VALUE/],
    [
      (s) => (s.linux.uidMappings = [{ containerID: 0, hostID: 1, size: 0 }]),
      /^linux\.uidMappings\[0\]\.size: must be at least 1/,
    ],
    [(s) => s.linux.namespaces.push({ type: "pid" }), /duplicate namespace "pid"/],
    [
      (s) => (s.process.capabilities.bounding = ["cap_kill"]),
      /^process\.capabilities\.bounding\[0\]: not a capability name/,
    ],
  ];
  for (const [change, re] of cases) {
    assert.throws(
      () => validateSpec(withChange(change)),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "INVALID_DOCUMENT");
        assert.match(err.message, re);
        return true;
      },
    );
  }
});

test("null optional fields read as absent, unknown fields are kept", () => {
  const spec = validateSpec(
    withChange((s) => {
      s.hostname = null;
      s.extra = { keep: true };
    }),
  );
  assert.equal(spec.hostname, undefined);
  assert.deepEqual((spec as unknown as Record<string, unknown>).extra, { keep: true });
});

test("invalid JSON is INVALID_JSON", () => {
  assert.throws(
    () => parseSpec("{"),
    (err: Error & { code?: string }) => err.code === "INVALID_JSON",
  );
});
