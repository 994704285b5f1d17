import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkPortMappings,
  dockerPortList,
  dockerPortMap,
  exposeAndPublish,
  formatPorts,
  parsePortSpec,
  portBindingsFromDocker,
} from "./ports.js";

test("-p specs parse as the docker CLI reads them", () => {
  assert.deepEqual(parsePortSpec("8080"), [
    { hostIP: "", hostPort: 0, containerPort: 8080, protocol: "tcp" },
  ]);
  assert.deepEqual(parsePortSpec("80:8080/udp"), [
    { hostIP: "", hostPort: 80, containerPort: 8080, protocol: "udp" },
  ]);
  assert.deepEqual(parsePortSpec("127.0.0.1:18080:8080"), [
    { hostIP: "127.0.0.1", hostPort: 18080, containerPort: 8080, protocol: "tcp" },
  ]);
  assert.deepEqual(parsePortSpec("127.0.0.1::8080/tcp"), [
    { hostIP: "127.0.0.1", hostPort: 0, containerPort: 8080, protocol: "tcp" },
  ]);
  assert.deepEqual(parsePortSpec("0.0.0.0:80:80")[0]?.hostIP, "");
  assert.deepEqual(
    parsePortSpec("8000-8001:80-81").map((p) => [p.hostPort, p.containerPort]),
    [
      [8000, 80],
      [8001, 81],
    ],
  );
});

test("bad -p specs name what is wrong", () => {
  assert.throws(() => parsePortSpec("99999:80"), /host port 99999 is out of range/);
  assert.throws(() => parsePortSpec("80:0"), /container port 0 is out of range/);
  assert.throws(() => parsePortSpec("abc:80"), /host port "abc" is not a port number/);
  assert.throws(() => parsePortSpec("80/sctp"), /protocol "sctp" is not tcp or udp/);
  assert.throws(() => parsePortSpec("1.2.3:80:80"), /"1.2.3" is not an IP address/);
  assert.throws(() => parsePortSpec("8000-8002:80-81"), /same length/);
  assert.throws(() => parsePortSpec("81-80"), /ends before it starts/);
  assert.throws(() => parsePortSpec("a:b:c:d"), /expected \[IP:\]\[HOST:\]CONTAINER/);
  assert.throws(() => parsePortSpec("[::1]:80:80"), /IPv6 host addresses are not supported/);
  assert.throws(() => parsePortSpec("127.0.0.1:80:"), /container port is missing/);
});

test("PortBindings documents become mappings; conflicts are refused", () => {
  assert.deepEqual(portBindingsFromDocker(null), []);
  assert.deepEqual(
    portBindingsFromDocker({ "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }], "53/udp": null }),
    [
      { hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80, protocol: "tcp" },
      { hostIP: "", hostPort: 0, containerPort: 53, protocol: "udp" },
    ],
  );
  assert.throws(() => portBindingsFromDocker({ "80/tcp": [{ HostPort: "70000" }] }), /out of range/);
  assert.throws(() => portBindingsFromDocker({ http: [] }), /expected CONTAINER_PORT/);
  assert.throws(() => portBindingsFromDocker([]), /must be an object/);
  assert.throws(
    () =>
      portBindingsFromDocker({
        "80/tcp": [{ HostPort: "8080" }],
        "81/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }],
      }),
    /host port 8080\/tcp is published twice/,
  );
  // The same host port over tcp and udp is two different sockets.
  assert.equal(
    portBindingsFromDocker({ "80/tcp": [{ HostPort: "8080" }], "80/udp": [{ HostPort: "8080" }] }).length,
    2,
  );
  assert.throws(
    () => checkPortMappings([{ containerPort: 80, hostPort: -1 }]),
    /hostPort must be an integer/,
  );
  assert.throws(() => checkPortMappings("80"), /ports must be an array/);
});

test("ports are shown back as Docker shows them", () => {
  const ports = [{ hostIP: "127.0.0.1", hostPort: 18080, containerPort: 8080, protocol: "tcp" as const }];
  assert.deepEqual(dockerPortMap(ports, ["9000/tcp", "53"]), {
    "9000/tcp": null,
    "53/tcp": null,
    "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "18080" }],
  });
  assert.deepEqual(dockerPortList(ports), [
    { IP: "127.0.0.1", PrivatePort: 8080, PublicPort: 18080, Type: "tcp" },
  ]);
  assert.equal(
    formatPorts([...ports, { hostIP: "", hostPort: 53, containerPort: 53, protocol: "udp" }]),
    "127.0.0.1:18080->8080/tcp, 0.0.0.0:53->53/udp",
  );
});

test("exposed ports merge the image's and the container's; -P publishes the unmapped ones", () => {
  const mapped = { hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80, protocol: "tcp" as const };
  assert.deepEqual(exposeAndPublish(["80/tcp", "53/udp", "junk"], { exposedPorts: ["9000", "80"] }), {
    exposedPorts: ["80/tcp", "53/udp", "9000/tcp"],
    ports: [],
  });
  assert.deepEqual(exposeAndPublish(["80/tcp", "53/udp"], { ports: [mapped], publishAll: true }).ports, [
    mapped,
    { hostIP: "", hostPort: 0, containerPort: 53, protocol: "udp" },
  ]);
});
