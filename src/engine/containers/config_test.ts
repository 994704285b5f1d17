import assert from "node:assert/strict";
import { test } from "node:test";
import type { ImageConfig } from "../../oci/types.js";
import {
  checkName,
  containerSpec,
  effectiveImageConfig,
  parseContainerConfig,
  parseRestartPolicy,
  specMounts,
} from "./config.js";

const image: ImageConfig = {
  architecture: "amd64",
  os: "linux",
  config: { Entrypoint: ["/entry"], Cmd: ["default"], Env: ["PATH=/bin", "A=1"], WorkingDir: "/w" },
  rootfs: { type: "layers", diff_ids: [] },
};

test("names follow Docker's rule and lose their slash", () => {
  assert.equal(checkName("/web_1"), "web_1");
  assert.throws(() => checkName("-bad"), /Invalid container name/);
  assert.throws(() => checkName("a/b"), /Invalid container name/);
});

test("restart policies parse as Docker's", () => {
  assert.deepEqual(parseRestartPolicy("always"), { name: "always" });
  assert.deepEqual(parseRestartPolicy("on-failure:3"), { name: "on-failure", maximumRetryCount: 3 });
  assert.throws(() => parseRestartPolicy("always:3"), /invalid restart policy/);
  assert.throws(() => parseRestartPolicy("sometimes"), /invalid restart policy/);
});

test("create requests are validated field by field", () => {
  assert.throws(() => parseContainerConfig([]), /JSON object/);
  assert.throws(() => parseContainerConfig({}), /image is required/);
  assert.throws(() => parseContainerConfig({ image: "x", cmd: "echo" }), /cmd must be an array/);
  assert.throws(() => parseContainerConfig({ image: "x", env: ["NOEQ"] }), /has no '='/);
  assert.throws(() => parseContainerConfig({ image: "x", workingDir: "rel" }), /absolute/);
  assert.throws(() => parseContainerConfig({ image: "x", networkMode: "my/net" }), /invalid network name/);
  assert.throws(
    () => parseContainerConfig({ image: "x", networkMode: "none", ports: [{ containerPort: 80 }] }),
    /published ports are discarded with --network none/,
  );
  assert.throws(() => parseContainerConfig({ image: "x", ports: [{ containerPort: 0 }] }), /containerPort/);
  assert.throws(
    () => parseContainerConfig({ image: "x", autoRemove: true, restartPolicy: { name: "always" } }),
    /conflicting/,
  );
  const c = parseContainerConfig({ image: "x", cmd: ["a"], tty: false, restartPolicy: { name: "no" } });
  assert.deepEqual(c, { image: "x", cmd: ["a"], tty: false });
});

test("an entrypoint override drops the image's Cmd; env entries replace by name", () => {
  const e = effectiveImageConfig(image, { image: "x", entrypoint: ["/bin/sh"], env: ["A=2"] });
  assert.deepEqual(e.config?.Entrypoint, ["/bin/sh"]);
  assert.equal(e.config?.Cmd, null);
  const spec = containerSpec(
    image,
    { image: "x", entrypoint: ["/bin/sh"], env: ["A=2"] },
    { id: "a".repeat(64), rootfs: "/r" },
  );
  assert.deepEqual(spec.process?.args, ["/bin/sh"]);
  assert.ok(spec.process?.env?.includes("A=2"));
  assert.ok(!spec.process?.env?.includes("A=1"));
});

test("the spec has a writable rootfs, no terminal, the short id as hostname", () => {
  const id = "0123456789abcdef".repeat(4);
  const spec = containerSpec(image, { image: "x", cmd: ["c"] }, { id, rootfs: "/r" });
  assert.deepEqual(spec.process?.args, ["/entry", "c"]);
  assert.deepEqual(spec.root, { path: "/r", readonly: false });
  assert.equal(spec.process?.terminal, false);
  assert.equal(spec.hostname, id.slice(0, 12));
  assert.equal(spec.process?.cwd, "/w");
  assert.ok(spec.linux?.namespaces?.some((n) => n.type === "network"));
  const host = containerSpec(image, { image: "x", networkMode: "host" }, { id, rootfs: "/r" });
  assert.ok(!host.linux?.namespaces?.some((n) => n.type === "network"));
});

test("tty gives the process a terminal and TERM=xterm unless set; log options are validated", () => {
  const id = "0123456789abcdef".repeat(4);
  const spec = containerSpec(image, { image: "x", tty: true }, { id, rootfs: "/r" });
  assert.equal(spec.process?.terminal, true);
  assert.ok(spec.process?.env?.includes("TERM=xterm"));
  const own = containerSpec(image, { image: "x", tty: true, env: ["TERM=vt100"] }, { id, rootfs: "/r" });
  assert.deepEqual(
    own.process?.env?.filter((e) => e.startsWith("TERM=")),
    ["TERM=vt100"],
  );
  const plain = containerSpec(image, { image: "x" }, { id, rootfs: "/r" });
  assert.ok(!plain.process?.env?.some((e) => e.startsWith("TERM=")));
  assert.deepEqual(parseContainerConfig({ image: "b", logOptions: { "max-size": "1m" } }).logOptions, {
    "max-size": "1m",
  });
  assert.throws(
    () => parseContainerConfig({ image: "b", logOptions: { compress: "true" } }),
    /unknown log opt/,
  );
});

test("mounts become runtime-spec binds (rbind for host paths) and tmpfs, replacing defaults at the same path", () => {
  const c = parseContainerConfig({
    image: "b",
    mounts: [
      { type: "bind", source: "/h", target: "/a", readOnly: true },
      { type: "volume", source: "v1", target: "/b" },
      { type: "tmpfs", target: "/dev/shm", options: ["size=1m"] },
    ],
  });
  const spec = containerSpec(image, c, {
    id: "0123456789abcdef",
    rootfs: "/r",
    sources: { "/a": "/h", "/b": "/vols/v/_data" },
  });
  const own = spec.mounts?.slice(-3);
  assert.deepEqual(own, [
    { destination: "/a", type: "bind", source: "/h", options: ["rbind", "ro"] },
    { destination: "/b", type: "bind", source: "/vols/v/_data", options: ["bind", "rw"] },
    { destination: "/dev/shm", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=1m"] },
  ]);
  assert.equal(spec.mounts?.filter((m) => m.destination === "/dev/shm").length, 1);
  assert.throws(() => specMounts(c.mounts ?? [], {}), /no source for \/a/);
});
