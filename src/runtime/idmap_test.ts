/**
 * Idmapped bind mounts (mount `uidMappings`/`gidMappings`, options `idmap`/`ridmap`), planned in
 * TypeScript and made by pier-init with open_tree + mount_setattr(MOUNT_ATTR_IDMAP).
 */
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Mount } from "../oci/runtime-spec/config.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { runtimeCmd, scriptSpec, writeBundle } from "../testing/runtime.js";

let tmp = "";
let rootfs = "";
let data = "";
let n = 0;

before(async () => {
  tmp = await makeTempDir("pier-idmap-");
  chmodSync(tmp, 0o755);
  rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
  // Mount points made here: a container's root in a user namespace may not create them in this
  // root-owned rootfs.
  for (const d of ["idm", "plain", "ro"]) mkdirSync(join(rootfs, d));
  data = join(tmp, "data");
  mkdirSync(data, { mode: 0o777 });
  chmodSync(data, 0o777);
  writeFileSync(join(data, "f"), "hello\n");
  chownSync(join(data, "f"), 4321, 4322);
});

after(() => removeTempDir(tmp));

const pier = (...args: string[]) => runtimeCmd("pier", ["--root", join(tmp, "state"), ...args]);

async function run(script: string, mounts: Mount[], userNs: boolean) {
  n += 1;
  const spec = scriptSpec(script, (s) => {
    s.mounts = [...(s.mounts ?? []), ...mounts];
    if (userNs) {
      const linux = s.linux ?? {};
      linux.namespaces = [...(linux.namespaces ?? []), { type: "user" }];
      linux.uidMappings = [{ containerID: 0, hostID: 220000, size: 65536 }];
      linux.gidMappings = [{ containerID: 0, hostID: 220000, size: 65536 }];
      s.linux = linux;
    }
  });
  const dir = await writeBundle(join(tmp, `b${n}`), spec, rootfs);
  const id = `idmap${n}-${process.pid}`;
  return { id, r: pier("run", "-b", dir, id) };
}

test("a file owned by host uid 4321 shows as the mapped uid 1234 through an idmapped mount", async () => {
  const { r } = await run(
    "stat -c '%u:%g' /idm/f; cat /idm/f; stat -c '%u:%g' /plain/f",
    [
      {
        destination: "/idm",
        type: "bind",
        source: data,
        options: ["bind", "idmap"],
        uidMappings: [{ containerID: 4321, hostID: 1234, size: 1 }],
        gidMappings: [{ containerID: 4322, hostID: 1235, size: 1 }],
      },
      { destination: "/plain", type: "bind", source: data, options: ["bind", "ro"] },
    ],
    false,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), ["1234:1235", "hello", "4321:4322"]);
});

test("ridmap without mappings uses the container's user namespace: host ids show unshifted", async () => {
  const { r } = await run(
    "stat -c '%u:%g' /idm/f; stat -c '%u:%g' /plain/f; touch /idm/new; stat -c '%u:%g' /ro/f; touch /ro/x 2>/dev/null || echo ro",
    [
      { destination: "/idm", type: "bind", source: data, options: ["rbind", "ridmap"] },
      { destination: "/plain", type: "bind", source: data, options: ["rbind"] },
      { destination: "/ro", type: "bind", source: data, options: ["rbind", "ridmap", "ro"] },
    ],
    true,
  );
  assert.equal(r.status, 0, r.stderr);
  // Unmapped host ids show as the overflow id 65534 without the idmap; `ro` still holds.
  assert.deepEqual(r.stdout.trim().split("\n"), ["4321:4322", "65534:65534", "4321:4322", "ro"]);
  // The container's root (host uid 220000) writes files owned by uid 0 on disk.
  const st = statSync(join(data, "new"));
  assert.deepEqual([st.uid, st.gid], [0, 0]);
});

test("idmap without mappings and without a user namespace is refused, nothing left behind", async () => {
  const { id, r } = await run(
    "true",
    [{ destination: "/idm", type: "bind", source: data, options: ["bind", "idmap"] }],
    false,
  );
  assert.notEqual(r.status, 0);
  assert.match(
    r.stderr,
    /mounts\[\d+\]: idmap without uidMappings\/gidMappings needs a container user namespace/,
  );
  assert.ok(!pier("list", "-q").stdout.includes(id));
});

test("idmap on a mount that is not a bind mount is refused", async () => {
  const { r } = await run(
    "true",
    [{ destination: "/t", type: "tmpfs", source: "tmpfs", options: ["idmap"] }],
    true,
  );
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /idmapped mounts are supported for bind mounts only/);
});
