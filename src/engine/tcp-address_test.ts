import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseTcpAddress } from "./tcp-address.js";

/** Asserts that `text` is refused with `INVALID_ARGUMENT`, its message naming the text and matching `why`. */
function refused(text: string, why: RegExp, use?: Parameters<typeof parseTcpAddress>[1]): void {
  assert.throws(
    () => parseTcpAddress(text, use),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, "INVALID_ARGUMENT", `${text}: ${e.message}`);
      assert.ok(e.message.includes(JSON.stringify(text)), `${text}: ${e.message}`);
      assert.match(e.message, why, text);
      assert.match(e.message, /HOST:PORT\)$/, text);
      return true;
    },
    text,
  );
}

describe("parseTcpAddress", () => {
  it("takes HOST:PORT, tcp://HOST:PORT and a bracketed IPv6 host", () => {
    assert.deepEqual(parseTcpAddress("127.0.0.1:2376"), { host: "127.0.0.1", port: 2376 });
    assert.deepEqual(parseTcpAddress("tcp://node1.example:0"), { host: "node1.example", port: 0 });
    assert.deepEqual(parseTcpAddress("[::1]:10250"), { host: "::1", port: 10250 });
    assert.deepEqual(parseTcpAddress("tcp://[fd00::5]:2377", { dial: true }), {
      host: "fd00::5",
      port: 2377,
    });
    assert.deepEqual(parseTcpAddress("h:65535"), { host: "h", port: 65535 });
  });

  it("refuses a missing host or port, naming what is missing", () => {
    refused("127.0.0.1", /: no port/);
    refused("host:", /: no port/);
    refused("tcp://[::1]", /: no port/);
    refused("[::1]:", /: no port/);
    refused(":2376", /: no host/);
    refused("", /: no port/);
  });

  it("refuses a port out of range or not a number, and port 0 for an address to dial", () => {
    refused("h:65536", /port "65536" is not a number from 0 to 65535/);
    refused("h:123456", /port "123456" is not a number/);
    refused("h:-1", /port "-1" is not a number/);
    refused("h:http", /port "http" is not a number/);
    refused("tcp://h:0", /port "0" is not a number from 1 to 65535/, { dial: true });
  });

  it("refuses an IPv6 host without brackets (showing them) and a bracketed host that is not IPv6", () => {
    refused("::1:2376", /an IPv6 host goes in brackets: \[::1\]:2376/);
    refused("tcp://fd00::5:2377", /\[fd00::5\]:2377/);
    refused("[node1]:2376", /"node1" in brackets is not an IPv6 address/);
    refused("[::1:2376", /no \] after the IPv6 address/);
    refused("[::1]2376", /: no port/);
    refused("a:b:2376", /more than one colon/);
  });

  it("refuses a path, a query, user information and another scheme", () => {
    refused("tcp://h:1/x", /only a host and a port/);
    refused("h:1?x=1", /only a host and a port/);
    refused("tcp://user@h:1", /only a host and a port/);
    refused("unix:///run/x.sock", /only a host and a port/);
  });

  it("names what the address is for, and the tcp:// form when it was given", () => {
    assert.throws(
      () => parseTcpAddress("tcp://h", { what: "migration target" }),
      /invalid migration target "tcp:\/\/h": no port \(want tcp:\/\/HOST:PORT\)/,
    );
  });
});
