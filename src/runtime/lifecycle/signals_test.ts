import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSignal } from "./signals.js";

test("signal names, numbers and real-time signals as Docker's table names them", () => {
  assert.equal(parseSignal("KILL"), 9);
  assert.equal(parseSignal("sigterm"), 15);
  assert.equal(parseSignal("10"), 10);
  assert.equal(parseSignal("RTMIN"), 34);
  assert.equal(parseSignal("RTMIN+3"), 37, "systemd's halt signal");
  assert.equal(parseSignal("SIGRTMIN+3"), 37);
  assert.equal(parseSignal("SIGRTMAX-1"), 63);
  assert.equal(parseSignal("RTMAX"), 64);
  for (const bad of ["RTMIN+31", "RTMIN-1", "RTMAX+1", "BOGUS", "0", "65", "RTMIN+x"])
    assert.throws(() => parseSignal(bad), /unknown signal/, bad);
});
