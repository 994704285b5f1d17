import assert from "node:assert/strict";
import { test } from "node:test";
import type { Mount } from "../../oci/runtime-spec/config.js";
import { idmappedMountOps, wantsIdmap } from "./idmapped-mounts.js";
import { parseMountOptions } from "./mount-options.js";

const maps = [{ containerID: 0, hostID: 100000, size: 65536 }];

function plan(m: Mount, userNs = false) {
  const options = parseMountOptions(m.options, m.type);
  return idmappedMountOps({
    index: 2,
    mount: m,
    options,
    source: "/src",
    dest: "dst",
    kind: "dir",
    ...(userNs ? { userNs: { uidMappings: maps, gidMappings: maps } } : {}),
  });
}

test("idmap and ridmap never reach mount(2)'s data; mappings alone ask for an idmap", () => {
  const o = parseMountOptions(["rbind", "ridmap", "ro"]);
  assert.equal(o.idmap, "ridmap");
  assert.equal(o.data, "");
  const m: Mount = {
    destination: "/d",
    source: "/s",
    options: ["bind"],
    uidMappings: maps,
    gidMappings: maps,
  };
  assert.equal(wantsIdmap(m, parseMountOptions(m.options)), true);
  assert.equal(wantsIdmap({ destination: "/d", options: ["bind"] }, parseMountOptions(["bind"])), false);
});

test("explicit mappings: the tree is made before clone and attached in place, flags kept", () => {
  const p = plan({
    destination: "/d",
    source: "/s",
    options: ["bind", "idmap", "ro"],
    uidMappings: [{ containerID: 4321, hostID: 1234, size: 1 }],
    gidMappings: [{ containerID: 4322, hostID: 1235, size: 2 }],
  });
  assert.deepEqual(p.pre, [
    { op: "idmaptree", args: ["2", "/src", "4321 1234 1\n", "4322 1235 2\n", "0", "0"] },
  ]);
  assert.deepEqual(p.child, [{ op: "idmapmount", args: ["2", "dst", "dir", "1", "noproc"] }]);
});

test("ridmap on an rbind is recursive and defaults to the container's mappings", () => {
  const p = plan({ destination: "/d", source: "/s", options: ["rbind", "ridmap"] }, true);
  assert.deepEqual(p.pre[0]?.args.slice(2), ["0 100000 65536\n", "0 100000 65536\n", "1", "1"]);
});

test("what the spec calls an error is refused naming the mount", () => {
  assert.throws(
    () => plan({ destination: "/d", source: "/s", options: ["bind", "idmap"] }),
    /mounts\[2\]: idmap without/,
  );
  assert.throws(
    () => plan({ destination: "/d", source: "/s", options: ["bind"], uidMappings: maps }),
    /uidMappings and gidMappings must be given together/,
  );
  assert.throws(
    () => plan({ destination: "/d", type: "tmpfs", options: ["idmap"] }, true),
    /bind mounts only/,
  );
});

test("a rootless runtime is told it cannot idmap a host filesystem", () => {
  const m: Mount = { destination: "/d", source: "/s", options: ["rbind", "ridmap"] };
  assert.throws(
    () =>
      idmappedMountOps({
        index: 0,
        mount: m,
        options: parseMountOptions(m.options),
        source: "/s",
        dest: "d",
        kind: "dir",
        rootless: true,
        userNs: { uidMappings: maps, gidMappings: maps },
      }),
    /mounts\[0\]: idmapped mounts need CAP_SYS_ADMIN .* rootless/,
  );
});
