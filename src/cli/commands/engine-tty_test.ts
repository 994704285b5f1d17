import assert from "node:assert/strict";
import { test } from "node:test";
import { exitFrame } from "../../engine/api/pier-tty.js";
import { frame } from "../../engine/logs.js";
import { DetachKeys, FrameReader } from "./engine-tty.js";

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

test("ctrl-p ctrl-q detaches; a partial match is passed on once it turns out not to be one", () => {
  const k = new DetachKeys();
  assert.deepEqual(k.push(Buffer.from("ab\x10")), { forward: Buffer.from("ab"), detached: false });
  assert.deepEqual(k.push(Buffer.from("c")), { forward: Buffer.from("\x10c"), detached: false });
  assert.deepEqual(k.push(Buffer.from("\x10\x10")), { forward: Buffer.from("\x10"), detached: false });
  assert.deepEqual(k.push(Buffer.from("\x11rest")), { forward: Buffer.from(""), detached: true });
});
