import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { fakeCreate } from "../../testing/engine-fake-create.js";
import { launchMonitor, readExitFile } from "./monitor.js";

test("-k writes the CRI log format beside json-file: F for full lines, P for a partial one, exact bytes", async (t) => {
  const dir = await makeTempDir("pier-monitor-cri-");
  t.after(() => removeTempDir(dir));
  const files = {
    log: join(dir, "log.json"),
    pidFile: join(dir, "pid"),
    exitFile: join(dir, "exit.json"),
    criLog: join(dir, "0.log"),
  };
  const m = await launchMonitor(
    files,
    fakeCreate(files.pidFile, 'echo "a \\"b\\" <c>"; echo err >&2; printf partial; exit 3'),
    () => "",
  );
  await m.gone;
  assert.equal(readExitFile(files.exitFile)?.exitCode, 3);
  const lines = readFileSync(files.criLog, "utf8").split("\n");
  assert.equal(lines.pop(), "", "every record ends with a newline");
  const rx = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (stdout|stderr) ([FP]) (.*)$/;
  const parsed = lines.map((l) => {
    const p = rx.exec(l);
    assert.ok(p, `not a CRI log line: ${JSON.stringify(l)}`);
    return [p[2], p[3], p[4]];
  });
  const byStream = (s: string) => parsed.filter((p) => p[0] === s).map((p) => `${p[1]} ${p[2]}`);
  assert.deepEqual(byStream("stdout"), ['F a "b" <c>', "P partial"]);
  assert.deepEqual(byStream("stderr"), ["F err"]);
  // The json-file log is still written.
  assert.match(readFileSync(files.log, "utf8"), /"log":"err\\n","stream":"stderr"/);
});
