import assert from "node:assert/strict";
import { test } from "node:test";
import {
  applyDnsOverrides,
  checkDns,
  containerResolvConf,
  parseExtraHost,
  renderHostname,
  renderHosts,
} from "./hosts.js";

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
  assert.doesNotMatch(
    renderHosts({ ip: "10.0.0.2", names: ["a"] }, [{ ip: "10.0.0.3", names: ["b\n6.6.6.6 evil", "b"] }]),
    /evil/,
    "a hostname cannot add lines to its peers' files",
  );
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

test("--add-host entries parse and render before the container's own line", () => {
  assert.deepEqual(parseExtraHost("db:10.0.0.5"), { ip: "10.0.0.5", names: ["db"] });
  assert.deepEqual(parseExtraHost("db=10.0.0.5"), { ip: "10.0.0.5", names: ["db"] });
  assert.deepEqual(parseExtraHost("v6:[fd00::1]"), { ip: "fd00::1", names: ["v6"] });
  assert.deepEqual(parseExtraHost("v6:fd00::1"), { ip: "fd00::1", names: ["v6"] });
  assert.deepEqual(parseExtraHost("gw:host-gateway"), { ip: "host-gateway", names: ["gw"] });
  assert.throws(() => parseExtraHost("nohost"), /invalid extra host "nohost": expected NAME:IP/);
  assert.throws(() => parseExtraHost("db:not-an-ip"), /"not-an-ip" is not an IP address/);
  assert.throws(() => parseExtraHost("-bad:1.2.3.4"), /is not a host name/);
  const text = renderHosts({ ip: "10.88.0.2", names: ["me"] }, [], [{ ip: "10.0.0.5", names: ["db"] }]);
  assert.match(text, /^10\.0\.0\.5\tdb\n10\.88\.0\.2\tme\n$/m);
});

test("--dns, --dns-search and --dns-option replace their kind of line", () => {
  const base = "nameserver 192.0.2.53\nsearch lan\noptions ndots:2\n";
  assert.equal(applyDnsOverrides(base), base);
  assert.equal(
    applyDnsOverrides(base, { servers: ["1.1.1.1", "9.9.9.9"] }),
    "search lan\noptions ndots:2\nnameserver 1.1.1.1\nnameserver 9.9.9.9\n",
  );
  assert.equal(
    applyDnsOverrides(base, { search: ["a.example", "b.example"], options: ["rotate"] }),
    "nameserver 192.0.2.53\nsearch a.example b.example\noptions rotate\n",
  );
  assert.throws(() => checkDns({ servers: ["dns.example"] }), /invalid DNS server "dns.example"/);
  assert.throws(() => checkDns({ search: ["a b"] }), /invalid DNS search domain/);
  assert.deepEqual(checkDns({ servers: ["::1"] }), { servers: ["::1"] });
});
