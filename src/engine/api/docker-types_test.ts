import assert from "node:assert/strict";
import { test } from "node:test";
import { parseContainerConfig } from "../containers/config.js";
import { parseBind } from "../containers/mount-spec.js";
import type { ContainerRecord } from "../containers/store.js";
import { volumeMatches } from "../volume-operations.js";
import { progressLine } from "./docker-images.js";
import { createInputFromDocker, dockerSummary, parseFilters, statusText } from "./docker-types.js";

/** What the container service makes of a Docker create body. */
const configFromDocker = (body: unknown) => parseContainerConfig(createInputFromDocker(body));

import { apiPath } from "./router.js";

test("Docker create bodies become engine configs; bad port bindings are refused", () => {
  const c = configFromDocker({
    Image: "busybox",
    Cmd: ["echo", "hi"],
    Entrypoint: [""],
    Env: ["A=1"],
    Tty: false,
    OpenStdin: true,
    HostConfig: { AutoRemove: true, NetworkMode: "default", RestartPolicy: { Name: "" }, Binds: null },
  });
  assert.deepEqual(c, {
    image: "busybox",
    cmd: ["echo", "hi"],
    entrypoint: [],
    env: ["A=1"],
    tty: false,
    openStdin: true,
    autoRemove: true,
    networkMode: "default",
  });
  assert.deepEqual(
    configFromDocker({
      Image: "b",
      ExposedPorts: { "80/tcp": {} },
      HostConfig: { PortBindings: { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }] } },
    }).ports,
    [{ hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80, protocol: "tcp" }],
  );
  assert.throws(
    () => configFromDocker({ Image: "b", HostConfig: { PortBindings: { "80/tcp": [{ HostPort: "x" }] } } }),
    /invalid port specification/,
  );
  assert.throws(() => configFromDocker("x"), /JSON object/);
  assert.deepEqual(
    configFromDocker({
      Image: "b",
      HostConfig: { RestartPolicy: { Name: "on-failure", MaximumRetryCount: 2 } },
    }).restartPolicy,
    {
      name: "on-failure",
      maximumRetryCount: 2,
    },
  );
});

test("versioned paths and progress lines", () => {
  assert.equal(apiPath("/v1.41/containers/json?all=1").path, "/containers/json");
  assert.equal(apiPath("/_ping").path, "/_ping");
  assert.equal(apiPath("/v1.41/containers/json?all=1").query.get("all"), "1");
  assert.deepEqual(
    progressLine({ type: "bytes", id: `sha256:${"a".repeat(64)}`, transferred: 5, size: 10 }),
    {
      status: "Downloading",
      progressDetail: { current: 5, total: 10 },
      id: "aaaaaaaaaaaa",
    },
  );
});

test("ps status text reads as Docker's", () => {
  const base: ContainerRecord = {
    id: "f".repeat(64),
    name: "web",
    config: { image: "busybox", cmd: ["sleep", "9"] },
    imageId: "sha256:x",
    status: "running",
    pid: 1,
    monitorPid: 2,
    exitCode: 0,
    error: "",
    restartCount: 0,
    createdAt: "2024-01-01T00:00:00Z",
    startedAt: "2024-01-01T00:00:00Z",
    finishedAt: "0001-01-01T00:00:00Z",
  };
  const t0 = Date.parse("2024-01-01T00:00:05Z");
  assert.equal(statusText(base, t0), "Up 5 seconds");
  assert.equal(
    statusText({ ...base, status: "exited", exitCode: 3, finishedAt: "2024-01-01T00:00:00Z" }, t0 + 115000),
    "Exited (3) 2 minutes ago",
  );
  assert.equal(statusText({ ...base, status: "created" }, t0), "Created");
  const s = dockerSummary(base, t0);
  assert.deepEqual(s.Names, ["/web"]);
  assert.equal(s.Command, "sleep 9");
});

test("Binds, Mounts and Tmpfs become mount requests; bad ones are refused naming the problem", () => {
  assert.deepEqual(parseBind("/h:/c"), { type: "bind", source: "/h", target: "/c", createSource: true });
  assert.deepEqual(parseBind("v1:/c:ro,z"), { type: "volume", source: "v1", target: "/c", readOnly: true });
  assert.deepEqual(parseBind("/only"), { type: "volume", source: "", target: "/only" });
  assert.throws(() => parseBind("relative"), /invalid volume specification/);
  assert.throws(() => parseBind("/h:/c:bogus"), /invalid mode: bogus/);
  const c = configFromDocker({
    Image: "b",
    HostConfig: {
      Binds: ["/h:/a:ro"],
      Mounts: [
        { Type: "volume", Source: "v1", Target: "/b" },
        { Type: "tmpfs", Target: "/t", TmpfsOptions: { SizeBytes: 1024, Mode: 0o1777 } },
      ],
      Tmpfs: { "/u": "size=1m,ro" },
    },
  });
  assert.deepEqual(c.mounts, [
    { type: "bind", source: "/h", target: "/a", readOnly: true, createSource: true },
    { type: "volume", source: "v1", target: "/b" },
    { type: "tmpfs", source: "", target: "/t", options: ["size=1024", "mode=1777"] },
    { type: "tmpfs", source: "", target: "/u", readOnly: true, options: ["size=1m"] },
  ]);
  assert.deepEqual(
    configFromDocker({ Image: "b", Volumes: { "/a": {}, "/anon": {} }, HostConfig: { Binds: ["/h:/a"] } })
      .mounts,
    [
      { type: "bind", source: "/h", target: "/a", createSource: true },
      { type: "volume", source: "", target: "/anon" },
    ],
  );
  const bad = (host: Record<string, unknown>) => () => configFromDocker({ Image: "b", HostConfig: host });
  assert.throws(bad({ Binds: ["/h:relative"] }), /mount path must be absolute/);
  assert.throws(bad({ Binds: ["/h:/a/../b"] }), /contains '\.\.'/);
  assert.throws(bad({ Binds: ["bad$name:/a"] }), /invalid volume name/);
  assert.throws(bad({ Binds: ["/h:/a", "/i:/a"] }), /Duplicate mount point: \/a/);
  assert.throws(bad({ Mounts: [{ Type: "npipe", Source: "x", Target: "/a" }] }), /unknown mount type npipe/);
  assert.throws(bad({ Tmpfs: { "/t": "uid=0;rm" } }), /unsupported options/);
});

test("volume ls filters: name, label, dangling, driver; unknown ones refused", () => {
  const v = { Name: "web-data", Labels: { env: "prod", tier: "" } };
  const f = (text: string, users = 0) => volumeMatches(v, users, parseFilters(text));
  assert.equal(f('{"name":["web"]}'), true);
  assert.equal(f('{"name":["db"]}'), false);
  assert.equal(f('{"label":["env=prod","tier"]}'), true);
  assert.equal(f('{"label":{"env=dev":true}}'), false);
  assert.equal(f('{"dangling":["true"]}'), true);
  assert.equal(f('{"dangling":["true"]}', 1), false);
  assert.equal(f('{"dangling":["false"]}', 1), true);
  assert.equal(f('{"driver":["nfs"]}'), false);
  assert.throws(() => f('{"colour":["red"]}'), /invalid filter 'colour'/);
  assert.throws(() => parseFilters("{"), /invalid filters/);
});
