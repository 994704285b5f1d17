import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import { fakeCreate } from "../../testing/engine-fake-create.js";
import { ensureMonitor, launchMonitor, parseStatusLine, processAlive, readExitFile } from "./monitor.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(f: () => T | undefined, ms = 10000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await sleep(20);
  }
}

test("status lines parse", () => {
  assert.deepEqual(parseStatusLine("created 42"), { kind: "created", value: 42 });
  assert.deepEqual(parseStatusLine("failed 3"), { kind: "failed", reason: "3" });
  assert.equal(parseStatusLine("junk"), undefined);
});

test("the monitor logs json-file records, records the exit code and stays small", async (t) => {
  const dir = await makeTempDir("pier-monitor-");
  t.after(() => removeTempDir(dir));
  const files = { log: join(dir, "log.json"), pidFile: join(dir, "pid"), exitFile: join(dir, "exit.json") };
  const m = await launchMonitor(
    files,
    fakeCreate(files.pidFile, 'echo out; echo "quote\\" <tag>" >&2; sleep 0.5; printf partial; exit 7'),
    () => "",
  );
  assert.ok(m.monitorPid > 0 && m.containerPid > 0);
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${m.monitorPid}/status`, "utf8"))?.[1]);
  assert.ok(rss > 0 && rss < 5 * 1024, `monitor RSS ${rss} kB must stay under 5 MB`);
  const ppid = Number(readFileSync(`/proc/${m.containerPid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
  assert.equal(ppid, m.monitorPid, "the monitor is the container's subreaper");
  await m.gone;
  const exit = readExitFile(files.exitFile);
  assert.equal(exit?.exitCode, 7);
  await until(() => (processAlive(m.monitorPid) ? undefined : true));
  const lines = readFileSync(files.log, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const byStream = (s: string) => lines.filter((l) => l.stream === s).map((l) => l.log);
  assert.deepEqual(byStream("stdout"), ["out\n", "partial"]);
  assert.deepEqual(byStream("stderr"), ['quote" <tag>\n']);
  assert.match(lines[0].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  // Go's encoder escapes < > as \u003c \u003e: so does the monitor.
  assert.match(readFileSync(files.log, "utf8"), /\\u003ctag\\u003e/);
});

test("a killed container reports 128+signal; a failed create is reported", async (t) => {
  const dir = await makeTempDir("pier-monitor-");
  t.after(() => removeTempDir(dir));
  const files = { log: join(dir, "log.json"), pidFile: join(dir, "pid"), exitFile: join(dir, "exit.json") };
  const m = await launchMonitor(files, fakeCreate(files.pidFile, "sleep 30"), () => "");
  process.kill(m.containerPid, "SIGKILL");
  await m.gone;
  assert.equal(readExitFile(files.exitFile)?.exitCode, 137);

  const bad = { ...files, exitFile: join(dir, "exit2.json"), pidFile: join(dir, "pid2") };
  await assert.rejects(
    launchMonitor(bad, ["/bin/sh", "-c", "exit 1"], () => "runtime said no"),
    /runtime said no/,
  );
  const rec = await until(() => readExitFile(bad.exitFile));
  assert.equal(rec.createFailed, true);
});

test("stdin through the attach socket reaches the container; its end closes stdin", async (t) => {
  const dir = await makeTempDir("pier-monitor-");
  t.after(() => removeTempDir(dir));
  const files = {
    log: join(dir, "log.json"),
    pidFile: join(dir, "pid"),
    exitFile: join(dir, "exit.json"),
    attachSocket: join(dir, "a.sock"),
    stdinOnce: true,
  };
  // A non-interactive sh gives background jobs /dev/null as stdin: the saved fd 4 gets around it.
  const m = await launchMonitor(
    files,
    ["/bin/sh", "-c", `exec 4<&0; cat <&4 4<&- & echo $! > ${files.pidFile}`],
    () => "",
  );
  const { connect } = await import("node:net");
  const s = connect(files.attachSocket);
  await new Promise((r) => s.once("connect", r));
  s.end("piped line\n");
  await m.gone;
  assert.equal(readExitFile(files.exitFile)?.exitCode, 0);
  assert.equal(JSON.parse(readFileSync(files.log, "utf8").trim()).log, "piped line\n");
});

test("a spare monitor takes its arguments from stdin; an EOF before any ends it quietly", async (t) => {
  const dir = await makeTempDir("pier-monitor-");
  t.after(() => removeTempDir(dir));
  const files = { log: join(dir, "log.json"), pidFile: join(dir, "pid"), exitFile: join(dir, "exit.json") };
  const args = ["-l", files.log, "-p", files.pidFile, "-e", files.exitFile, "--"];
  const spare = spawn(ensureMonitor(), ["--args-on-stdin"], { stdio: ["pipe", "ignore", "pipe", "pipe"] });
  let status = "";
  (spare.stdio[3] as NodeJS.ReadableStream).on("data", (c: Buffer) => {
    status += c.toString();
  });
  spare.stdin?.end(
    [...args, ...fakeCreate(files.pidFile, "echo from-spare; exit 4")].map((a) => `${a}\0`).join(""),
  );
  const exit = await until(() => readExitFile(files.exitFile));
  assert.equal(exit.exitCode, 4);
  assert.match(readFileSync(files.log, "utf8"), /"log":"from-spare\\n"/);
  await until(() => (/exited 4/.test(status) ? true : undefined));

  const idle = spawn(ensureMonitor(), ["--args-on-stdin"], { stdio: ["pipe", "ignore", "pipe"] });
  let err = "";
  idle.stderr.on("data", (c: Buffer) => {
    err += c.toString();
  });
  idle.stdin.end();
  const code = await new Promise<number | null>((r) => idle.on("close", (c) => r(c)));
  assert.equal(code, 0);
  assert.equal(err, "");
});
