import assert from "node:assert/strict";
import { test } from "node:test";
import { containerAddress, parseCniError, parseCniResult } from "./cni-result.js";

const BRIDGE_RESULT = JSON.stringify({
  cniVersion: "1.0.0",
  interfaces: [
    { name: "pier0", mac: "f2:fc:20:e7:9b:77" },
    { name: "vethf20de319", mac: "36:97:5c:0b:0f:45" },
    { name: "eth0", mac: "aa:6b:a2:28:9a:6c", sandbox: "/run/pier/netns/abc" },
  ],
  ips: [{ interface: 2, address: "10.88.0.2/16", gateway: "10.88.0.1" }],
  routes: [{ dst: "0.0.0.0/0" }],
  dns: {},
});

test("a bridge plugin's result parses and yields the container's address", () => {
  const r = parseCniResult(BRIDGE_RESULT);
  assert.equal(r.interfaces.length, 3);
  assert.deepEqual(containerAddress(r, "eth0"), {
    address: "10.88.0.2/16",
    gateway: "10.88.0.1",
    mac: "aa:6b:a2:28:9a:6c",
  });
  assert.equal(containerAddress(r, "eth1"), undefined);
});

test("broken results are refused naming the field", () => {
  assert.throws(() => parseCniResult("not json"), /invalid CNI result: not JSON/);
  assert.throws(() => parseCniResult("[]"), /not a JSON object/);
  assert.throws(() => parseCniResult("{}"), /cniVersion must be a non-empty string/);
  assert.throws(
    () => parseCniResult(JSON.stringify({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2" }] })),
    /ips\[0\]\.address 10\.0\.0\.2 is not a CIDR/,
  );
  assert.throws(
    () =>
      parseCniResult(JSON.stringify({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/8", interface: 4 }] })),
    /ips\[0\]\.interface 4 names no interface/,
  );
  assert.throws(
    () => parseCniResult(JSON.stringify({ cniVersion: "1.0.0", interfaces: [{ mac: "x" }] })),
    /interfaces\[0\]\.name/,
  );
  assert.throws(
    () => parseCniResult(JSON.stringify({ cniVersion: "1.0.0", routes: {} })),
    /routes must be an array/,
  );
});

test("CNI error objects are recognised", () => {
  assert.deepEqual(
    parseCniError('{"cniVersion":"1.0.0","code":7,"msg":"bad config","details":"no bridge"}'),
    {
      cniVersion: "1.0.0",
      code: 7,
      msg: "bad config",
      details: "no bridge",
    },
  );
  assert.equal(parseCniError("plain text"), undefined);
  assert.equal(parseCniError('{"msg":"no code"}'), undefined);
});
