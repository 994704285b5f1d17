import assert from "node:assert/strict";
import { test } from "node:test";
import type { ContainerRecord } from "../containers/store.js";
import { containerName, criState, exitReason } from "./containers.js";
import { CriError } from "./error.js";
import { nanos, num, refuseUnapplied } from "./fields.js";
import { criCredentials } from "./image-service.js";
import { engineLabels, matchesLabels, STATE_LABEL, sandboxState } from "./labels.js";
import { podMetadata, sandboxName } from "./sandbox.js";
import { criUser } from "./security-context.js";

const refused = (f: () => unknown, field: RegExp) =>
  assert.throws(
    f,
    (e: CriError) => e instanceof CriError && e.code === "INVALID_ARGUMENT" && field.test(e.message),
  );

test("refuseUnapplied names the first set field pier does not apply; defaults and applied ones pass", () => {
  const applied = new Set(["c.a", "c.b.x"]);
  refuseUnapplied({ a: { deep: 1 }, b: { x: 2, y: 0, z: "" }, n: false, m: [], o: {} }, "c", applied);
  refused(() => refuseUnapplied({ b: { y: 1 } }, "c", applied), /^c\.b\.y is not supported/);
  refused(() => refuseUnapplied({ q: ["x"] }, "c", applied), /^c\.q /);
  refused(() => refuseUnapplied({ b: { w: { v: true } } }, "c", applied), /^c\.b\.w\.v /);
  refused(() => refuseUnapplied({ r: { cpu_shares: "2" } }, "c", applied), /^c\.r\.cpu_shares /);
});

test("64-bit fields: decimal strings read exactly up to 2^53, refused past it; nanoseconds of a time", () => {
  assert.equal(num({ t: "9007199254740991" }, "t"), 9007199254740991);
  refused(() => num({ t: "9007199254740993" }, "t"), /^t: .* out of range/);
  assert.equal(nanos("2024-01-02T03:04:05.678Z"), "1704164645678000000");
  assert.equal(nanos("0001-01-01T00:00:00Z"), "0");
});

test("users, states, reasons and names as containerd reports them", () => {
  const f = "sc";
  assert.equal(criUser({ run_as_user: { value: "1000" } }, f), "1000");
  assert.equal(criUser({ run_as_user: { value: "0" }, run_as_group: { value: "5" } }, f), "0:5");
  assert.equal(criUser({ run_as_username: "nobody" }, f), "nobody");
  assert.equal(criUser(undefined, f), undefined);
  refused(() => criUser({ run_as_group: { value: "5" } }, f), /^sc\.run_as_group needs run_as_user/);
  refused(() => criUser({ run_as_user: { value: "1" }, run_as_username: "x" }, f), /cannot both be set/);
  refused(() => criUser({ run_as_user: { value: "-1" } }, f), /run_as_user: -1 is not a valid id/);
  const rec = (status: ContainerRecord["status"], exitCode = 0, error = "") =>
    ({ status, exitCode, error, startedAt: "", finishedAt: "" }) as ContainerRecord;
  assert.equal(criState(rec("created")), "CONTAINER_CREATED");
  assert.equal(criState(rec("running")), "CONTAINER_RUNNING");
  assert.equal(criState(rec("exited")), "CONTAINER_EXITED");
  assert.equal(criState(rec("removing")), "CONTAINER_UNKNOWN");
  assert.equal(exitReason(rec("exited", 0)), "Completed");
  assert.equal(exitReason(rec("exited", 2)), "Error");
  assert.equal(exitReason(rec("exited", 127, "exec: no such file")), "StartError");
  assert.equal(exitReason(rec("running")), "");
  const pod = podMetadata({ name: "web", uid: "u1", namespace: "ns", attempt: 2 });
  assert.equal(sandboxName(pod), "k8s_POD_web_ns_u1_2");
  assert.equal(containerName("app", pod, 1), "k8s_app_web_ns_u1_1");
  refused(() => podMetadata({ name: "web", namespace: "ns" }), /config\.metadata\.uid is required/);
});

test("labels: Kubernetes' and containerd's on the engine container, the request's kept exactly", () => {
  const pod = { name: "web", uid: "u1", namespace: "ns", attempt: 0 };
  const state = {
    kind: "sandbox" as const,
    metadata: pod,
    labels: { app: "web" },
    annotations: { a: "b" },
    logDirectory: "/var/log/pods/x",
    runtimeHandler: "",
    network: "POD" as const,
    pid: "CONTAINER" as const,
    ipc: "POD" as const,
  };
  const labels = engineLabels(state, pod);
  assert.equal(labels["io.cri-containerd.kind"], "sandbox");
  assert.equal(labels["io.kubernetes.pod.uid"], "u1");
  assert.equal(labels.app, "web");
  assert.deepEqual(sandboxState({ config: { image: "x", labels } } as unknown as ContainerRecord), state);
  refused(() => engineLabels({ ...state, labels: { [STATE_LABEL]: "{}" } }, pod), /runtime's own/);
  assert.ok(matchesLabels({ a: "1", b: "2" }, { a: "1" }));
  assert.ok(!matchesLabels({ a: "1" }, { a: "2" }));
});

test("a CRI AuthConfig's credentials; a registry token is refused", () => {
  assert.deepEqual(criCredentials({ auth: Buffer.from("joe:s3:cret").toString("base64") }), {
    username: "joe",
    password: "s3:cret",
  });
  assert.deepEqual(criCredentials({ username: "a", password: "b", server_address: "r.example" }), {
    username: "a",
    password: "b",
  });
  assert.equal(criCredentials(undefined), undefined);
  refused(() => criCredentials({ registry_token: "t" }), /^auth\.registry_token/);
  refused(() => criCredentials({ auth: Buffer.from("nocolon").toString("base64") }), /auth\.auth/);
});
