/**
 * The pure parts of the streaming protocols: tokens (single use, expiry, bound), the error
 * stream's status per protocol version, the resize stream's JSON objects, WebSocket protocol
 * negotiation and the SPDY streams a command expects.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ResizeReader } from "./resize.js";
import { streamingRoute } from "./server.js";
import { expectedStreamTypes } from "./spdy-command.js";
import { errorStreamBytes, statusDocument } from "./status.js";
import { RequestTokens } from "./tokens.js";
import { negotiateWebSocket, WS_COMMAND_PROTOCOLS, WS_PORTFORWARD_PROTOCOLS } from "./websocket-channels.js";

const exec = {
  kind: "exec" as const,
  containerId: "c",
  cmd: ["sh"],
  tty: false,
  stdin: false,
  stdout: true,
  stderr: false,
};

describe("streaming tokens", () => {
  it("serves a token once, and not after its expiry", () => {
    let now = 1000;
    const t = new RequestTokens(60_000, 10, () => now);
    const a = t.insert(exec);
    assert.match(a, /^[A-Za-z0-9_-]{11}$/);
    assert.deepEqual(t.consume(a), exec);
    assert.equal(t.consume(a), undefined, "spent");
    const b = t.insert(exec);
    now += 60_000;
    assert.equal(t.consume(b), undefined, "expired");
    assert.equal(t.consume("nope"), undefined);
  });

  it("bounds the pending requests, making room from expired ones", () => {
    let now = 0;
    const t = new RequestTokens(1000, 3, () => now);
    for (let i = 0; i < 3; i++) t.insert(exec);
    assert.throws(() => t.insert(exec), /3 requests already wait/);
    now = 1000;
    t.insert(exec);
    assert.equal(t.size, 1);
  });

  it("routes only the three token paths", () => {
    assert.deepEqual(streamingRoute("/exec/abc_-9"), { kind: "exec", token: "abc_-9" });
    assert.deepEqual(streamingRoute("/portforward/x?port=80"), { kind: "portforward", token: "x" });
    assert.equal(streamingRoute("/exec/"), undefined);
    assert.equal(streamingRoute("/exec/a/b"), undefined);
    assert.equal(streamingRoute("/run/x"), undefined);
    assert.equal(streamingRoute(`/exec/${"a".repeat(65)}`), undefined);
  });
});

describe("the error stream", () => {
  it("carries kubelet's metav1.Status from v4 on, a failure's message before", () => {
    assert.deepEqual(JSON.parse(errorStreamBytes({ exitCode: 0 }, 4).toString()), {
      metadata: {},
      status: "Success",
    });
    const failed = statusDocument({ exitCode: 42 });
    assert.equal(failed.status, "Failure");
    assert.equal(failed.reason, "NonZeroExitCode");
    assert.deepEqual(failed.details, { causes: [{ reason: "ExitCode", message: "42" }] });
    assert.equal(errorStreamBytes({ exitCode: 0 }, 2).length, 0);
    assert.match(errorStreamBytes({ exitCode: 42 }, 2).toString(), /non-zero exit code: exit status 42/);
    const internal = JSON.parse(errorStreamBytes({ error: "no such container" }, 5).toString());
    assert.equal(internal.reason, "InternalError");
    assert.match(internal.message, /no such container/);
  });
});

describe("the resize stream", () => {
  it("splits JSON objects however they arrive, with or without newlines", () => {
    const r = new ResizeReader();
    assert.deepEqual(r.push(Buffer.from('{"Width":80,')), []);
    assert.deepEqual(r.push(Buffer.from('"Height":24}\n{"Width":1,"Height":2}{"Width":3')), [
      { width: 80, height: 24 },
      { width: 1, height: 2 },
    ]);
    assert.deepEqual(r.push(Buffer.from(',"Height":4}')), [{ width: 3, height: 4 }]);
  });

  it("refuses what is not a size, and objects without end", () => {
    assert.throws(() => new ResizeReader().push(Buffer.from("[1,2]")), /not a JSON object/);
    assert.throws(() => new ResizeReader().push(Buffer.from('{"Width":-1,"Height":2}')), /0\.\.65535/);
    assert.throws(
      () => new ResizeReader().push(Buffer.from(`{"x":"${"a".repeat(5000)}`)),
      /longer than 4096/,
    );
  });
});

describe("protocol negotiation", () => {
  it("picks the client's first supported WebSocket protocol, as wsstream", () => {
    assert.equal(
      negotiateWebSocket(["v5.channel.k8s.io", "v4.channel.k8s.io"], WS_COMMAND_PROTOCOLS),
      "v5.channel.k8s.io",
    );
    assert.equal(
      negotiateWebSocket(["x", "v4.base64.channel.k8s.io"], WS_COMMAND_PROTOCOLS),
      "v4.base64.channel.k8s.io",
    );
    assert.equal(negotiateWebSocket([], WS_COMMAND_PROTOCOLS), "");
    assert.equal(negotiateWebSocket(["v5.channel.k8s.io"], WS_PORTFORWARD_PROTOCOLS), undefined);
  });

  it("expects the streams a SPDY client opens: resize only from v3 on with a TTY", () => {
    const want = { stdin: true, stdout: true, stderr: false, tty: true };
    assert.deepEqual([...expectedStreamTypes(want, 4)].sort(), ["error", "resize", "stdin", "stdout"]);
    assert.deepEqual([...expectedStreamTypes(want, 2)].sort(), ["error", "stdin", "stdout"]);
  });
});
