import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultRuntimeSpec } from "../../oci/runtime-spec/default-spec.js";
import { planExec } from "./exec.js";

const filter = { flags: 0, bpf: new Uint8Array(8) };
const base = { pid: 1, namespaces: [], mode: "detach" as const, preserveFds: 0, lastCap: 40, userNs: false };

test("an exec'd process loads the filter as create's init does: last with no_new_privs", () => {
  const process = { ...defaultRuntimeSpec().process!, terminal: false };
  const ops = planExec({ ...base, process, seccomp: filter }).map((o) => o.op);
  assert.deepEqual(ops.slice(ops.indexOf("seccomp")), ["seccomp", "exec"]);
  assert.ok(ops.indexOf("cloexec") < ops.indexOf("nnp"));
});

test("an exec'd process without no_new_privs loads the filter before dropping privileges", () => {
  const process = { ...defaultRuntimeSpec().process!, terminal: false, noNewPrivileges: false };
  const ops = planExec({ ...base, process, seccomp: filter }).map((o) => o.op);
  assert.ok(ops.indexOf("cloexec") < ops.indexOf("seccomp"));
  assert.ok(ops.indexOf("seccomp") < ops.indexOf("bounding") && ops.indexOf("user") < ops.indexOf("caps"));
});

test("an exec'd process gets the container's oom_score_adj unless it names its own", () => {
  const process = { ...defaultRuntimeSpec().process!, terminal: false };
  const oom = (input: Partial<Parameters<typeof planExec>[0]>) =>
    planExec({ ...base, process, ...input })
      .filter((o) => o.op === "oom")
      .map((o) => o.args);
  assert.deepEqual(oom({ containerOomScoreAdj: 500 }), [["500"]]);
  assert.deepEqual(oom({ containerOomScoreAdj: 500, process: { ...process, oomScoreAdj: 700 } }), [["700"]]);
  assert.deepEqual(oom({}), []);
});
