/**
 * uids and gids wrap modulo 2^32 where they reach the kernel (`uid_t`): `"uid": 4294967296` used
 * to run as root. Every way an id enters the runtime refuses one out of range, naming it:
 * config.json (runc refuses the same values), `exec --user`, `--additional-gids` and `--process`
 * (runc's exec wraps these to root; pier refuses them), and pier-init itself as a backstop.
 */
import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Spec } from "../oci/runtime-spec/config.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { requireTool, runtimeCmd, scriptSpec, writeBundle } from "../testing/runtime.js";
import { runHelperPlan } from "../testing/runtime-plan.js";
import { op, type PlanOp } from "./plan/ops.js";

let tmp = "";
let rootfs = "";
let runc = "";
let n = 0;

before(async () => {
  runc = requireTool("runc", "runc");
  tmp = await makeTempDir("pier-ids-");
  chmodSync(tmp, 0o755);
  rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
});

after(async () => {
  for (const [rt, root] of [
    ["pier", join(tmp, "pier-state")],
    [runc, join(tmp, "runc-state")],
  ] as const) {
    for (const id of runtimeCmd(rt, ["--root", root, "list", "-q"]).stdout.split("\n").filter(Boolean))
      runtimeCmd(rt, ["--root", root, "delete", "--force", id]);
  }
  await removeTempDir(tmp);
});

const pier = (...args: string[]) => runtimeCmd("pier", ["--root", join(tmp, "pier-state"), ...args]);

/** Runs `id` in a container of the default spec plus `mutate` with runc and with pier-runtime. */
async function runBoth(mutate: (s: Spec) => void) {
  n += 1;
  const dir = await writeBundle(join(tmp, `b${n}`), scriptSpec("id -u; id -g; id -G", mutate), rootfs);
  const id = `ids${n}-${process.pid}`;
  const runcResult = runtimeCmd(runc, ["--root", join(tmp, "runc-state"), "run", "--bundle", dir, id]);
  const pierResult = pier("run", "--bundle", dir, id);
  return { runc: runcResult, pier: pierResult, id };
}

test("config.json ids that would wrap to root are refused at create, naming the field, as runc does", async () => {
  const wrap = 2 ** 32;
  const cases: [string, (s: Spec) => void][] = [
    ["process.user.uid", (s) => Object.assign(s.process?.user ?? {}, { uid: wrap })],
    ["process.user.gid", (s) => Object.assign(s.process?.user ?? {}, { gid: wrap })],
    [
      "process.user.additionalGids[0]",
      (s) => Object.assign(s.process?.user ?? {}, { additionalGids: [wrap] }),
    ],
    // runc's range for a process is 0..2^31-1 ("uids and gids must be in range 0-2147483647").
    ["process.user.uid", (s) => Object.assign(s.process?.user ?? {}, { uid: 2 ** 31 })],
    [
      "process.user.additionalGids[0]",
      (s) => Object.assign(s.process?.user ?? {}, { additionalGids: [2 ** 31] }),
    ],
  ];
  for (const [field, mutate] of cases) {
    const r = await runBoth(mutate);
    assert.notEqual(r.runc.status, 0, `runc ran ${field}: ${r.runc.stdout}`);
    assert.equal(r.pier.status, 1, `pier ran ${field} as: ${r.pier.stdout}`);
    assert.equal(r.pier.stdout, "", "nothing ran");
    assert.match(
      r.pier.stderr,
      new RegExp(`${field.replace(/[[\]]/g, "\\$&")}: must be an integer between 0 and`),
    );
    assert.equal(pier("state", r.id).status, 1, "no container is left behind");
  }
  // The top of the range runs as that id with both.
  const top = 2 ** 31 - 1;
  const ok = await runBoth((s) =>
    Object.assign(s.process?.user ?? {}, { uid: top, gid: top, additionalGids: [top] }),
  );
  assert.equal(ok.runc.status, 0, ok.runc.stderr);
  assert.equal(ok.pier.status, 0, ok.pier.stderr);
  assert.equal(ok.pier.stdout, ok.runc.stdout);
  assert.equal(ok.pier.stdout, `${top}\n${top}\n${top}\n`);
});

test("exec --user, --additional-gids and --process refuse ids that would wrap to root", async () => {
  n += 1;
  const dir = await writeBundle(join(tmp, `b${n}`), scriptSpec("sleep 60"), rootfs);
  const id = `idx${n}-${process.pid}`;
  assert.equal(
    runtimeCmd("pier", ["--root", join(tmp, "pier-state"), "run", "--detach", "--bundle", dir, id], {
      detached: true,
    }).status,
    0,
  );
  const cases: [string[], RegExp][] = [
    [["--user", "4294967296"], /invalid --user: uid 4294967296 is out of range/],
    [["--user", "0:4294967296"], /invalid --user: gid 4294967296 is out of range/],
    [["--user", "2147483648"], /invalid --user: uid 2147483648 is out of range/],
    [["--additional-gids", "4294967296"], /invalid --additional-gids: gid 4294967296 is out of range/],
  ];
  for (const [flags, re] of cases) {
    const r = pier("exec", ...flags, id, "id", "-u");
    assert.equal(r.status, 1, `ran as ${r.stdout}`);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, re);
  }
  const procFile = join(tmp, `proc-${id}.json`);
  writeFileSync(procFile, JSON.stringify({ user: { uid: 2 ** 32, gid: 0 }, args: ["id", "-u"], cwd: "/" }));
  const pf = pier("exec", "--process", procFile, id);
  assert.equal(pf.status, 1, `ran as ${pf.stdout}`);
  assert.match(pf.stderr, /process\.user\.uid: must be an integer between 0 and 2147483647, got 4294967296/);
  const top = pier("exec", "--user", "2147483647:2147483647", "--additional-gids", "2147483647", id, "id");
  assert.equal(top.status, 0, top.stderr);
  assert.equal(top.stdout, "uid=2147483647 gid=2147483647 groups=2147483647\n");
  assert.equal(pier("delete", "--force", id).status, 0);
});

test("pier-init refuses ids that do not fit uid_t, whatever plan it is given", async () => {
  const id = (user: PlanOp) => runHelperPlan([user, op("exec", "/bin/sh", "-c", "id -u; id -G")]);
  // Literals, not op(): the typed builder would not let these through.
  const cases: [PlanOp, string][] = [
    [{ op: "user", args: ["4294967296", "0", "-"] }, "uid 4294967296"],
    [{ op: "user", args: ["0", "4294967296", "-"] }, "gid 4294967296"],
    [{ op: "user", args: ["0", "0", "4294967295"] }, "additional gid 4294967295"],
    [{ op: "user", args: ["-1", "0", "-"] }, "uid -1"],
    [{ op: "user", args: ["0x10", "0", "-"] }, "uid 0x10"],
  ];
  for (const [user, what] of cases) {
    const r = await id(user);
    assert.equal(r.code, 1, `ran as ${r.stdout}`);
    assert.equal(r.stdout, "");
    assert.match(r.said, new RegExp(`^error plan: ${what} is not an id from 0 to 4294967294`, "m"));
  }
  const ok = await id(op("user", 65534, 65534, "65533"));
  assert.equal(ok.code, 0, ok.said);
  assert.equal(ok.stdout, "65534\n65534 65533\n");
});
