import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSpec } from "../../oci/runtime-spec/validate.js";
import type { ImageConfig } from "../../oci/types.js";
import {
  checkName,
  containerSpec,
  effectiveImageConfig,
  parseContainerConfig,
  parseRestartPolicy,
  parseSpecText,
  specMounts,
  specText,
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

test("CAP_NET_RAW comes from Docker's default set: a network does not add it back after --cap-drop", () => {
  const network = {
    netns: "/run/pier/netns/abc",
    files: { hosts: "/c/hosts", resolvConf: "/c/resolv.conf" },
  };
  const id = "c".repeat(64);
  const plain = containerSpec(image, parseContainerConfig({ image: "x" }), { id, rootfs: "/r", network });
  assert.ok(plain.process?.capabilities?.effective?.includes("CAP_NET_RAW"));
  const dropped = containerSpec(
    image,
    parseContainerConfig({ image: "x", security: { capDrop: ["NET_RAW"] } }),
    { id, rootfs: "/r", network },
  );
  for (const set of ["bounding", "effective", "permitted"] as const)
    assert.ok(!dropped.process?.capabilities?.[set]?.includes("CAP_NET_RAW"), set);
});

test("a seccomp argument value above 2^53 is written to config.json exactly, and read back exactly", () => {
  const big = 2n ** 63n + 1n; // 9223372036854775809: a JS number would make it ...808
  const profile = `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":${big},"valueTwo":18446744073709551615,"op":"SCMP_CMP_MASKED_EQ"}]}]}`;
  const spec = containerSpec(
    image,
    parseContainerConfig({ image: "x", security: { securityOpt: [`seccomp=${profile}`] } }),
    { id: "d".repeat(64), rootfs: "/r" },
  );
  const text = specText(spec);
  assert.match(text, /"value":9223372036854775809,/);
  assert.match(text, /"valueTwo":18446744073709551615\b/);
  const arg = parseSpecText(text).linux?.seccomp?.syscalls?.[0]?.args?.[0];
  assert.equal(arg?.value, big);
  assert.equal(arg?.valueTwo, 2n ** 64n - 1n);
  // The runtime's reader (pier-runtime create) keeps them exact too.
  assert.equal(parseSpec(text).linux?.seccomp?.syscalls?.[0]?.args?.[0]?.value, big);
});

test("a cgroup parent is an absolute or relative cgroupfs path or a slice; its cgroupsPath says where", () => {
  const id = "e".repeat(64);
  const path = (cgroupParent: string) =>
    containerSpec(image, parseContainerConfig({ image: "x", cgroupParent }), { id, rootfs: "/r" }).linux
      ?.cgroupsPath;
  assert.equal(path("/custom/parent/"), `/custom/parent/${id}`);
  // Relative, as Docker's cgroupfs driver passes it on: the runtime resolves it from its own cgroup.
  assert.equal(path("custom/parent"), `custom/parent/${id}`);
  assert.equal(path("custom.slice/x"), `custom.slice/x/${id}`);
  assert.equal(path("pier-test.slice"), `/pier.slice/pier-test.slice/pier-${id}.scope`);
  for (const [bad, why] of [
    ["/a/../b", /cgroupParent "\/a\/..\/b": .*"\.\." components/],
    ["../escape", /cgroupParent "..\/escape": .*"\.\." components/],
    ["/", /cgroupParent "\/": .*below the root/],
    ["-bad-.slice", /cgroupParent "-bad-.slice": invalid systemd slice name/],
  ] as const)
    assert.throws(() => parseContainerConfig({ image: "x", cgroupParent: bad }), why, bad);
});
