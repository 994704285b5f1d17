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
    [(s) => (s.process.user.uid = "0"), /^process\.user\.uid: must be an integer between 0 and 2147483647/],
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

test("uids and gids that would wrap modulo 2^32 (2^32 runs as root) are refused, naming the field", () => {
  const wrap = 2 ** 32;
  const map = (containerID: number, hostID: number, size: number) => [{ containerID, hostID, size }];
  const cases: [(s: Json) => void, string][] = [
    [(s) => (s.process.user.uid = wrap), "process.user.uid"],
    [(s) => (s.process.user.gid = wrap), "process.user.gid"],
    // runc's range for a process's ids is 0..2^31-1.
    [(s) => (s.process.user.uid = 2 ** 31), "process.user.uid"],
    [(s) => (s.process.user.gid = 2 ** 31), "process.user.gid"],
    // 2^32-1 is (uid_t)-1: setuid refuses it, chown reads it as "unchanged".
    [
      (s) => (s.linux.devices = [{ path: "/dev/x", type: "c", major: 1, minor: 3, uid: wrap - 1 }]),
      "linux.devices[0].uid",
    ],
    [(s) => (s.process.user.additionalGids = [10, wrap]), "process.user.additionalGids[1]"],
    [(s) => (s.process.user.uid = -1), "process.user.uid"],
    [(s) => (s.linux.uidMappings = map(wrap, 0, 1)), "linux.uidMappings[0].containerID"],
    [(s) => (s.linux.gidMappings = map(0, wrap, 1)), "linux.gidMappings[0].hostID"],
    [(s) => (s.linux.uidMappings = map(0, wrap - 10, 10)), "linux.uidMappings[0].size"],
    [(s) => (s.linux.gidMappings = map(wrap - 65536, 0, 65536)), "linux.gidMappings[0].size"],
    [
      (s) =>
        (s.mounts = [{ destination: "/m", source: "/", options: ["bind"], uidMappings: map(0, wrap, 1) }]),
      "mounts[0].uidMappings[0].hostID",
    ],
    [
      (s) => (s.linux.devices = [{ path: "/dev/x", type: "c", major: 1, minor: 3, uid: wrap }]),
      "linux.devices[0].uid",
    ],
    [
      (s) => (s.linux.devices = [{ path: "/dev/x", type: "c", major: 1, minor: 3, gid: wrap }]),
      "linux.devices[0].gid",
    ],
  ];
  for (const [change, field] of cases) {
    assert.throws(
      () => validateSpec(withChange(change)),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "INVALID_DOCUMENT");
        assert.ok(err.message.startsWith(`${field}: `), `${field}: ${err.message}`);
        return true;
      },
    );
  }
  // The largest valid ids and ranges pass.
  validateSpec(
    withChange((s) => {
      s.process.user = { uid: 2 ** 31 - 1, gid: 2 ** 31 - 1, additionalGids: [2 ** 31 - 1] };
      s.linux.devices = [{ path: "/dev/x", type: "c", major: 1, minor: 3, uid: wrap - 2, gid: wrap - 2 }];
      s.linux.uidMappings = map(0, wrap - 65537, 65536);
      s.linux.gidMappings = map(wrap - 65537, 0, 65536);
    }),
  );
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
