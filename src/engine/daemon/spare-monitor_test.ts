/**
 * pierd's spare monitor (started ahead for the next container, see containers/monitor.ts): a
 * start takes it, and the next one is started once pierd is quiet again, not during the start.
 * Also: a removed container's directories leave their paths at once (the trash deletes them).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { docker, ok, pier, until, useTestDaemon } from "../../testing/engine.js";

const fx = useTestDaemon({ pull: true });

/** Pids of pierd's spare monitors (its children waiting for their arguments). */
function spares(): number[] {
  const out: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
      if (!cmd[0]?.endsWith("pier-monitor") || cmd[1] !== "--args-on-stdin") continue;
      const ppid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1]);
      if (ppid === fx.d.proc.pid) out.push(Number(p));
    } catch {}
  }
  return out;
}

test("each start takes the spare monitor; one new spare follows once pierd is quiet", async () => {
  await ok(docker(fx.d, ["run", "--rm", "--network", "none", fx.reg.image, "true"]));
  const [first] = await until(
    async () => spares(),
    (s) => s.length === 1,
    "a spare monitor",
  );
  const id = await ok(pier(fx.d, ["run", "-d", "--network", "none", fx.reg.image, "sleep", "30"]));
  try {
    const [second] = await until(
      async () => spares(),
      (s) => s.length === 1 && s[0] !== first,
      "the next spare monitor",
    );
    // The container's monitor is the first spare's grandchild (it detached): the first is gone.
    assert.equal(existsSync(`/proc/${first}`), false);
    await ok(pier(fx.d, ["rm", "-f", id]));
    await ok(pier(fx.d, ["run", "--rm", "--network", "none", fx.reg.image, "true"]));
    await until(
      async () => spares(),
      (s) => s.length === 1 && s[0] !== second,
      "a third spare monitor",
    );
  } finally {
    await pier(fx.d, ["rm", "-f", id]);
  }
});

test("a removed container's directories leave their paths when rm answers; the trash empties", async () => {
  const id = await ok(docker(fx.d, ["create", "--network", "none", fx.reg.image, "true"]));
  const dirs = [join(fx.d.root, "containers", id), join(fx.d.root, "rw", id)];
  for (const d of dirs) assert.ok(existsSync(d), d);
  await ok(docker(fx.d, ["rm", id]));
  for (const d of dirs) assert.equal(existsSync(d), false, `${d} still there after rm`);
  await until(
    async () => readdirSync(join(fx.d.root, "trash")),
    (n) => n.length === 0,
    "an empty trash",
  );
  // --rm through the pier CLI, which removes it itself.
  const out = await ok(pier(fx.d, ["run", "--rm", "--name", "trash-rm", fx.reg.image, "echo", "hi"]));
  assert.equal(out, "hi");
  // The name is free at once (its record went with the answer).
  assert.equal(
    await ok(pier(fx.d, ["run", "--rm", "--name", "trash-rm", fx.reg.image, "echo", "again"])),
    "again",
  );
  await until(
    async () => readdirSync(join(fx.d.root, "trash")),
    (n) => n.length === 0,
    "an empty trash",
  );
});
