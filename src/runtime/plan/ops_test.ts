import assert from "node:assert/strict";
import { test } from "node:test";
import { decodePlan, encodePlan, op } from "./ops.js";

test("op() sends each kind of argument as the helper parses it", () => {
  assert.deepEqual(op("clone", 0x20000), { op: "clone", args: ["131072"] });
  assert.deepEqual(op("bounding", 40, (1n << 40n) | 1n), { op: "bounding", args: ["40", "0x10000000001"] });
  assert.deepEqual(op("seccomp", 1, Uint8Array.of(0x06, 0, 0xff)), { op: "seccomp", args: ["1", "0600ff"] });
  // A view into a larger buffer sends only its own bytes.
  const big = Buffer.from("00aabbcc00", "hex");
  assert.deepEqual(op("devfilter", "/sys/fs/cgroup/x", "GPL", big.subarray(1, 4)).args[2], "aabbcc");
  assert.deepEqual(op("mkdev", "dev/null", "c", 1, 3, 0o666, 0, 0, 1).args, [
    "dev/null",
    "c",
    "1",
    "3",
    "438",
    "0",
    "0",
    "1",
  ]);
  assert.deepEqual(op("console"), { op: "console", args: [] });
  assert.deepEqual(op("user", 0, 0, "-"), { op: "user", args: ["0", "0", "-"] });
  assert.deepEqual(op("rlimit", 7, "1024", "18446744073709551615").args[2], "18446744073709551615");
});

test("op() is typed by the table: a wrong name, kind, word or count does not compile", () => {
  // Each line must fail `tsc` (an unused @ts-expect-error fails the build); at run time op()
  // just builds the record, which pier-init would refuse (see op-header_test.ts).
  const wrong = [
    // @ts-expect-error: no op of that name
    () => op("mkdirs", "/x"),
    // @ts-expect-error: FLAGS is an int, not text
    () => op("clone", "0"),
    // @ts-expect-error: MODE is detach or wait
    () => op("mode", "background"),
    // @ts-expect-error: MASK is a bigint mask
    () => op("bounding", 40, 0xff),
    // @ts-expect-error: PROGRAM is bytes, not their hex
    () => op("seccomp", 0, "0600"),
    // @ts-expect-error: mkfifo takes PATH UID GID
    () => op("mkfifo", "/run/x/fifo"),
    // @ts-expect-error: a bind flag is 0 or 1
    () => op("mkdev", "dev/null", "c", 1, 3, 0o666, 0, 0, 2),
    // @ts-expect-error: setsid takes no argument
    () => op("setsid", "now"),
  ];
  assert.equal(wrong.length, 8);
});

test("encodePlan and decodePlan round-trip; a NUL in an argument and an unknown op are refused", () => {
  const plan = [op("mode", "wait"), op("env"), op("exec", "/bin/sh", "-c", "echo a b")];
  assert.deepEqual(decodePlan(encodePlan(plan)), plan);
  assert.throws(() => encodePlan([op("hostname", "a\0b")]), /hostname: argument contains a NUL byte/);
  const body = Buffer.from("mkdirs\u00000\u0000");
  assert.throws(
    () => decodePlan(Buffer.concat([Buffer.from(`${body.length}\n`), body])),
    /plan: unknown op "mkdirs"/,
  );
});
