import assert from "node:assert/strict";
import { test } from "node:test";
import {
  encodeRequest,
  frameOutput,
  MAX_REQUEST_BYTES,
  parseExited,
  parseOpening,
  parseRequest,
  parseSignal,
} from "./protocol.js";

test("a request round-trips through the front end's encoding", () => {
  const req = {
    cwd: "/tmp/x",
    pid: 4242,
    argv: ["--root", "/r", "run", "-b", "b c", "id"],
    env: { A: "1", B: "x=y", E: "" },
  };
  const wire = encodeRequest(req);
  const nl = wire.indexOf(10);
  const opening = parseOpening(wire.subarray(0, nl).toString());
  assert.deepEqual(opening, { kind: "req", length: wire.length - nl - 1 });
  assert.deepEqual(parseRequest(wire.subarray(nl + 1)), req);
});

test("malformed openings and requests are refused with the reason", () => {
  assert.throws(() => parseOpening("hello"), /unexpected opening line/);
  assert.throws(() => parseOpening(`req ${MAX_REQUEST_BYTES + 1}`), /too large/);
  assert.throws(() => parseOpening("sync short"), /unexpected opening/);
  assert.deepEqual(parseOpening(`sync ${"ab".repeat(16)}`), { kind: "sync", token: "ab".repeat(16) });
  const body = (fields: string[]) => Buffer.from(fields.map((f) => `${f}\0`).join(""));
  assert.throws(() => parseRequest(Buffer.from("/\0" + "1")), /does not end with a NUL/);
  assert.throws(() => parseRequest(body(["relative", "1", "0", "0"])), /not absolute/);
  assert.throws(() => parseRequest(body(["/", "x", "0", "0"])), /bad pid/);
  assert.throws(() => parseRequest(body(["/", "1", "2", "a"])), /ends before its arguments/);
  assert.throws(() => parseRequest(body(["/", "1", "x"])), /bad argument count/);
  assert.throws(() => parseRequest(body(["/", "1", "0", "0", "extra"])), /trailing fields/);
});

test("output frames carry their byte length; exited lines parse", () => {
  assert.equal(frameOutput("out", "héllo\n").toString(), "out 7\nhéllo\n");
  assert.equal(frameOutput("err", "").toString(), "err 0\n");
  assert.equal(parseExited("exited 137"), 137);
  assert.equal(parseExited("exited x"), undefined);
  assert.equal(parseExited("exit 1"), undefined);
});

test("binary output frames as it is; only the forwarded signals parse", () => {
  assert.equal(frameOutput("out", Uint8Array.from([0, 255, 10])).toString("latin1"), "out 3\n\0\xff\n");
  assert.equal(parseSignal("sig SIGINT"), "SIGINT");
  assert.equal(parseSignal("sig SIGUSR2"), "SIGUSR2");
  assert.equal(parseSignal("sig SIGKILL"), undefined, "not one a front end can catch");
  assert.equal(parseSignal("sig 2"), undefined);
  assert.equal(parseSignal("signal SIGINT"), undefined);
});
