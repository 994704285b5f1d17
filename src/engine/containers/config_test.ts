import assert from "node:assert/strict";
import { test } from "node:test";
import type { ImageConfig } from "../../oci/types.js";
import {
  checkName,
  containerSpec,
  effectiveImageConfig,
  parseContainerConfig,
  parseRestartPolicy,
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
  assert.throws(() => parseContainerConfig({ image: "x", networkMode: "mynet" }), /network mynet not found/);
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
