import assert from "node:assert/strict";
import { test } from "node:test";
import { exitFrame } from "../../engine/api/pier-tty.js";
import { frame } from "../../engine/logs.js";
import { FrameReader } from "./engine-tty.js";

test("frames are split however the bytes arrive; the exit frame carries the code", () => {
  const bytes = Buffer.concat([
    frame("stdout", Buffer.from("out")),
    frame("stderr", Buffer.from("")),
    exitFrame(42),
  ]);
  for (const cut of [1, 3, 8, 11, bytes.length - 1]) {
    const r = new FrameReader();
    const got = [...r.push(bytes.subarray(0, cut)), ...r.push(bytes.subarray(cut))];
    assert.deepEqual(
      got.map((f) => [f.stream, f.data.toString()]),
      [
        [1, "out"],
        [2, ""],
        [3, '{"exitCode":42}'],
      ],
    );
  }
});
