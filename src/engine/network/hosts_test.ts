import assert from "node:assert/strict";
import { test } from "node:test";
import { containerResolvConf, renderHostname, renderHosts } from "./hosts.js";

test("hosts files list localhost, the container and its peers", () => {
  const text = renderHosts({ ip: "172.18.0.2", names: ["abc123", "web", "abc123"] }, [
    { ip: "172.18.0.3", names: ["def456", "db"] },
  ]);
  const lines = text.trimEnd().split("\n");
  assert.equal(lines[0], "127.0.0.1\tlocalhost");
  assert.equal(lines[1], "::1\tlocalhost ip6-localhost ip6-loopback");
  assert.equal(lines.at(-2), "172.18.0.2\tabc123 web");
  assert.equal(lines.at(-1), "172.18.0.3\tdef456 db");
  assert.ok(text.endsWith("\n"));
  // Without an address (network none) the hostname still resolves, to loopback.
  assert.match(renderHosts({ names: ["box"] }), /^127\.0\.0\.1\tbox$/m);
});

test("resolv.conf drops loopback resolvers as Docker does", () => {
  const host =
    "# from the host\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example.org\noptions ndots:2\n";
  assert.equal(
    containerResolvConf(host),
    "# from the host\nnameserver 192.0.2.53\nsearch example.org\noptions ndots:2\n",
  );
  assert.equal(
    containerResolvConf("nameserver 127.0.0.53\nnameserver ::1\nsearch lan\n"),
    "search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n",
  );
  assert.equal(containerResolvConf("nameserver 127.0.0.53", true), "nameserver 127.0.0.53\n");
  assert.equal(renderHostname("web"), "web\n");
});
