import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseTcpAddress } from "./tcp-address.js";

describe("parseTcpAddress", () => {
  it("takes HOST:PORT, tcp://HOST:PORT and a bracketed IPv6 host", () => {
    assert.deepEqual(parseTcpAddress("127.0.0.1:2376"), { host: "127.0.0.1", port: 2376 });
    assert.deepEqual(parseTcpAddress("tcp://node1.example:0"), { host: "node1.example", port: 0 });
    assert.deepEqual(parseTcpAddress("[::1]:10250"), { host: "::1", port: 10250 });
  });

  it("refuses a missing host or port, a path, another scheme and a port above 65535, naming the text", () => {
    for (const bad of [
      "127.0.0.1",
      ":2376",
      "host:",
      "tcp://h:1/x",
      "unix:///run/x.sock",
      "h:65536",
      "h:123456",
      "",
    ]) {
      assert.throws(
        () => parseTcpAddress(bad),
        (e: Error & { code?: string }) =>
          e.code === "INVALID_ARGUMENT" &&
          e.message.includes(JSON.stringify(bad)) &&
          /HOST:PORT/.test(e.message),
        bad,
      );
    }
  });
});
