/**
 * The checkpoint documents in podman's format: what config.dump and network.status hold, the
 * checks on a stranger's documents, and the spec a restore gets (its bind mounts never chosen
 * by the archive).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Spec } from "../../oci/runtime-spec/config.js";
import type { NetworkDefinition } from "../network/conflist.js";
import { sameAddress, unicastMac } from "../network/service.js";
import {
  configDump,
  importedConfig,
  networkStatus,
  parseConfigDump,
  parseDeletedFiles,
  parseSpecDump,
  previousAddress,
  previousMac,
  restoreSpec,
} from "./podman-format.js";

const own: Spec = {
  ociVersion: "1.0.2",
  process: { args: ["sh"], cwd: "/", user: { uid: 0, gid: 0 } },
  root: { path: "/var/lib/pier/rw/x/merged" },
  mounts: [
    { destination: "/proc", type: "proc", source: "proc" },
    {
      destination: "/etc/hosts",
      type: "bind",
      source: "/var/lib/pier/containers/x/hosts",
      options: ["rbind"],
    },
    { destination: "/data", type: "bind", source: "/var/lib/pier/volumes/v/_data", options: ["rbind"] },
  ],
  linux: { namespaces: [{ type: "pid" }, { type: "network", path: "/run/pier/netns/x" }, { type: "mount" }] },
};

function dumpedWith(mounts: Spec["mounts"]): Spec {
  return {
    ociVersion: "1.0.2",
    process: { args: ["sh", "-c", "x"], cwd: "/", user: { uid: 0, gid: 0 } },
    root: { path: "/elsewhere" },
    mounts,
    linux: {
      namespaces: [{ type: "pid" }, { type: "network", path: "/run/netns/podman-x" }, { type: "ipc" }],
      maskedPaths: ["/proc/kcore"],
    },
  };
}

describe("restoreSpec", () => {
  const sourceFor = (d: string) => `/scratch${d}`;
  it("takes this engine's sources for its own binds, empty ones for podman's, the dump's mounts and masks", () => {
    const dumped = dumpedWith([
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/etc/hosts", type: "bind", source: "/other/userdata/hosts", options: ["bind"] },
      { destination: "/data", type: "bind", source: "/other/volumes/v", options: ["rbind"] },
      { destination: "/run/.containerenv", type: "bind", source: "/other/.containerenv", options: ["bind"] },
      { destination: "/dev/shm", type: "bind", source: "/other/shm", options: ["bind"] },
    ]);
    const { spec, replacements } = restoreSpec(own, dumped, sourceFor);
    assert.deepEqual(
      spec.mounts?.map((m) => [m.destination, m.source]),
      [
        ["/proc", "proc"],
        ["/etc/hosts", "/var/lib/pier/containers/x/hosts"],
        ["/data", "/var/lib/pier/volumes/v/_data"],
        ["/run/.containerenv", "/scratch/run/.containerenv"],
        ["/dev/shm", "/scratch/dev/shm"],
      ],
    );
    assert.deepEqual(replacements, [
      { destination: "/run/.containerenv", kind: "file" },
      { destination: "/dev/shm", kind: "directory" },
    ]);
    assert.equal(spec.root?.path, "/var/lib/pier/rw/x/merged");
    // The dump's namespaces, the network one this engine's.
    assert.deepEqual(spec.linux?.namespaces, [
      { type: "pid" },
      { type: "network", path: "/run/pier/netns/x" },
      { type: "ipc" },
    ]);
    assert.deepEqual(spec.linux?.maskedPaths, ["/proc/kcore"]);
  });

  it("refuses a bind mount the archive chose (a host path), naming it", () => {
    const dumped = dumpedWith([{ destination: "/host", type: "bind", source: "/", options: ["rbind"] }]);
    assert.throws(() => restoreSpec(own, dumped, sourceFor), /bind-mounts \/ at \/host: not restorable here/);
  });

  it("refuses a namespace joined by path other than the network's", () => {
    const dumped = dumpedWith([]);
    dumped.linux = { namespaces: [{ type: "ipc", path: "/proc/1/ns/ipc" }] };
    assert.throws(() => restoreSpec(own, dumped, sourceFor), /joins the ipc namespace at \/proc\/1\/ns\/ipc/);
  });
});

describe("the documents", () => {
  const dump = configDump({
    id: "a".repeat(64),
    name: "web",
    imageName: "busybox",
    imageConfigDigest: `sha256:${"b".repeat(64)}`,
    createdAt: "2026-01-01T00:00:00Z",
    config: { image: "busybox", cmd: ["sh"], autoRemove: true, clientRemoves: true },
    args: ["sh"],
    stopSignal: 15,
    network: "bridge",
    tcpEstablished: false,
    checkpointedAt: "2026-01-02T00:00:00Z",
  });

  it("config.dump names podman's default network and runc, and keeps pier's configuration", () => {
    assert.equal(dump.rootfsImageID, "b".repeat(64));
    assert.deepEqual(dump.newNetworks, { podman: { interface_name: "eth0" } });
    assert.equal(dump.runtime, "runc");
    assert.deepEqual(parseConfigDump(JSON.parse(JSON.stringify(dump))), dump);
    // An import does not carry --rm over (podman neither).
    assert.deepEqual(importedConfig(dump, parseSpecDump({ process: { args: ["sh"] }, root: {} })), {
      image: "busybox",
      cmd: ["sh"],
    });
  });

  it("a podman config.dump gives image, command, environment and directory", () => {
    const podman = parseConfigDump({
      id: "c",
      name: "p",
      rootfsImageName: "localhost/bb:1",
      networkMode: "bridge",
    });
    const spec = parseSpecDump({ process: { args: ["sh", "-c", "x"], env: ["A=1"], cwd: "/w" }, root: {} });
    assert.deepEqual(importedConfig(podman, spec), {
      image: "localhost/bb:1",
      entrypoint: ["sh"],
      cmd: ["-c", "x"],
      env: ["A=1"],
      workingDir: "/w",
    });
    // a podman -t container's terminal comes along: its console is restored with it
    const tty = parseSpecDump({ process: { args: ["sh"], terminal: true }, root: {} });
    assert.equal(importedConfig(podman, tty).tty, true);
  });

  it("refuses broken documents with the file and field named", () => {
    assert.throws(() => parseConfigDump([]), /config.dump: not a JSON object/);
    assert.throws(
      () => parseConfigDump({ id: "x", name: "" }),
      /config.dump: name must be a non-empty string/,
    );
    assert.throws(
      () => parseConfigDump({ id: "x", name: "n", rootfsImageName: "i", command: [1] }),
      /command/,
    );
    assert.throws(
      () => parseSpecDump({ process: { args: [] }, root: {} }),
      /spec.dump: process.args is missing/,
    );
    assert.throws(() => parseDeletedFiles({}), /deleted.files: not a list of paths/);
  });

  it("network.status round-trips the address; the same address only where the subnet holds it", () => {
    const status = networkStatus("bridge", "10.90.0.7/16", "10.90.0.1", "aa:bb:cc:dd:ee:ff");
    assert.equal(previousAddress(JSON.parse(JSON.stringify(status))), "10.90.0.7/16");
    assert.equal(previousAddress({ podman: { interfaces: {} } }), undefined);
    assert.equal(previousAddress("junk"), undefined);
    const def: NetworkDefinition = {
      id: "n".repeat(64),
      name: "bridge",
      bridge: "pier0",
      subnet: "10.90.0.0/16",
      gateway: "10.90.0.1",
      created: "2026-01-01T00:00:00Z",
      labels: {},
    };
    assert.equal(sameAddress("10.90.0.7/16", def), "10.90.0.7/16");
    assert.equal(sameAddress("10.90.0.7", def), "10.90.0.7/16");
    assert.equal(sameAddress("10.88.0.7/16", def), undefined);
    assert.equal(sameAddress("10.90.0.1", def), undefined);
  });

  it("network.status round-trips the MAC; a restored one must be a unicast Ethernet address", () => {
    const status = networkStatus("bridge", "10.90.0.7/16", "10.90.0.1", "aa:bb:cc:dd:ee:f0");
    assert.equal(previousMac(JSON.parse(JSON.stringify(status))), "aa:bb:cc:dd:ee:f0");
    assert.equal(previousMac(networkStatus("bridge", "10.90.0.7/16", undefined, undefined)), undefined);
    assert.equal(previousMac("junk"), undefined);
    assert.equal(unicastMac("AA:BB:CC:DD:EE:F0"), "aa:bb:cc:dd:ee:f0");
    assert.throws(() => unicastMac("01:00:5e:00:00:01"), /MAC address "01:00:5e:00:00:01" is not a unicast/);
    assert.throws(() => unicastMac("aa:bb:cc:dd:ee"), /is not a unicast Ethernet address/);
    assert.throws(() => unicastMac("aa:bb:cc:dd:ee:ff;rm"), /is not a unicast Ethernet address/);
  });
});
