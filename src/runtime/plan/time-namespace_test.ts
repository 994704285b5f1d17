import assert from "node:assert/strict";
import { test } from "node:test";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { timeOffsetsText } from "./time-namespace.js";

const spec = (timeOffsets: Record<string, { secs?: number; nanosecs?: number }>): Spec => ({
  ociVersion: "1.2.0",
  linux: { timeOffsets },
});

test("timeOffsetsText writes one timens_offsets line per clock", () => {
  assert.equal(
    timeOffsetsText(spec({ monotonic: { secs: -5 }, boottime: { secs: 86400, nanosecs: 7 } }), true),
    "monotonic -5 0\nboottime 86400 7",
  );
  assert.equal(timeOffsetsText(spec({}), true), "");
  assert.equal(timeOffsetsText(spec({}), false), "");
});

test("timeOffsetsText refuses what the kernel or runc would, naming the field", () => {
  assert.throws(
    () => timeOffsetsText(spec({ realtime: { secs: 1 } }), true),
    /linux\.timeOffsets\.realtime: unknown clock/,
  );
  assert.throws(
    () => timeOffsetsText(spec({ boottime: { nanosecs: 1e9 } }), true),
    /linux\.timeOffsets\.boottime\.nanosecs: must be an integer from 0 to 999999999/,
  );
  assert.throws(() => timeOffsetsText(spec({ boottime: { secs: 1.5 } }), true), /\.secs: must be an integer/);
  assert.throws(() => timeOffsetsText(spec({ boottime: { secs: 1 } }), false), /no new time namespace/);
});
