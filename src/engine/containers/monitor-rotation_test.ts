/**
 * The monitor's json-file rotation (-m/-n), exec mode (-x) exit codes and stdin kept open without
 * -o, with a shell standing in for the runtime as in monitor_test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { fakeCreate } from "../../testing/engine-fake-create.js";
import { ensureMonitor, launchMonitor, readExitFile } from "./monitor.js";

const WRITE_40 = 'i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo "line-$i-xxxxxxxxxxxxxxxxxxxxxxxx"; done';

function records(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { log: string }).log.trim());
}

test("max-size/max-file: LOG -> LOG.1 -> LOG.2, the oldest dropped, no record lost in between", async (t) => {
  const dir = await makeTempDir("pier-monitor-rot-");
  t.after(() => removeTempDir(dir));
  const log = join(dir, "c-json.log");
  const files = {
    log,
    pidFile: join(dir, "pid"),
    exitFile: join(dir, "exit.json"),
    maxSize: 1000,
    maxFiles: 3,
  };
  const m = await launchMonitor(files, fakeCreate(files.pidFile, WRITE_40), () => "");
  await m.gone;
  assert.equal(readExitFile(files.exitFile)?.exitCode, 0);
  assert.equal(existsSync(`${log}.3`), false, "max-file=3 keeps LOG, LOG.1 and LOG.2");
  const oneRecord = readFileSync(log, "utf8").split("\n")[0]!.length + 1;
  for (const f of [log, `${log}.1`, `${log}.2`])
    assert.ok(statSync(f).size < 1000 + oneRecord, `${f} is rotated once it reaches max-size`);
  const all = [...records(`${log}.2`), ...records(`${log}.1`), ...records(log)];
  const nums = all.map((l) => Number(/line-(\d+)-/.exec(l)?.[1]));
  assert.equal(nums.at(-1), 40);
  assert.deepEqual(
    nums,
    nums.map((_, i) => nums[0]! + i),
    "consecutive across the files",
  );
  assert.ok(nums[0]! > 1, "the oldest records were dropped");
});

test("max-file=1 truncates the log in place", async (t) => {
  const dir = await makeTempDir("pier-monitor-rot-");
  t.after(() => removeTempDir(dir));
  const log = join(dir, "c-json.log");
  const files = {
    log,
    pidFile: join(dir, "pid"),
    exitFile: join(dir, "exit.json"),
    maxSize: 500,
    maxFiles: 1,
  };
  const m = await launchMonitor(files, fakeCreate(files.pidFile, WRITE_40), () => "");
  await m.gone;
  assert.equal(existsSync(`${log}.1`), false);
  const got = records(log);
  assert.equal(got.at(-1), "line-40-xxxxxxxxxxxxxxxxxxxxxxxx");
  assert.ok(got.length < 10, `${got.length} records left after truncation`);
});

test("exec mode (-x) runs CMD in the foreground with its exit code, its output on stderr", () => {
  const r = spawnSync(ensureMonitor(), ["-x", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 7"], {
    encoding: "utf8",
  });
  assert.equal(r.status, 7);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, "out\nerr\n");
  const killed = spawnSync(ensureMonitor(), ["-x", "--", "/bin/sh", "-c", "kill -9 $$"], {
    encoding: "utf8",
  });
  assert.equal(killed.status, 137);
});

test("without -o stdin outlives a client's end of input: the next client writes on", async (t) => {
  const dir = await makeTempDir("pier-monitor-rot-");
  t.after(() => removeTempDir(dir));
  const files = {
    log: join(dir, "log.json"),
    pidFile: join(dir, "pid"),
    exitFile: join(dir, "exit.json"),
    attachSocket: join(dir, "a.sock"),
  };
  const m = await launchMonitor(
    files,
    [
      "/bin/sh",
      "-c",
      `exec 4<&0; sh -c 'read a; read b; echo "$a+$b"' <&4 4<&- & echo $! > ${files.pidFile}`,
    ],
    () => "",
  );
  for (const line of ["one\n", "two\n"]) {
    const s = connect(files.attachSocket);
    await new Promise((r) => s.once("connect", r));
    await new Promise<void>((r) => s.end(line, () => r()));
    await new Promise((r) => s.once("close", r));
  }
  await m.gone;
  assert.equal(readExitFile(files.exitFile)?.exitCode, 0);
  assert.equal(records(files.log).join("|"), "one+two");
});
