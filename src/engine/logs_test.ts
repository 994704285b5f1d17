import assert from "node:assert/strict";
import { renameSync, writeFileSync } from "node:fs";
import { appendFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { frame, type LogEntry, parseLogLine, readLogs, timeSeconds } from "./logs.js";

const line = (stream: string, log: string, time: string) => `${JSON.stringify({ log, stream, time })}\n`;

async function collect(gen: AsyncGenerator<LogEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of gen) out.push(`${e.stream}:${e.log}`);
  return out;
}

test("json-file lines parse; torn lines are skipped", () => {
  assert.deepEqual(parseLogLine(line("stdout", "hi\n", "2024-01-01T00:00:00.5Z").trim()), {
    stream: "stdout",
    log: "hi\n",
    time: "2024-01-01T00:00:00.5Z",
  });
  assert.equal(parseLogLine('{"log":"x","stream":"stdout"'), undefined);
  assert.equal(parseLogLine('{"log":"x","stream":"other","time":"t"}'), undefined);
  assert.equal(timeSeconds("1970-01-01T00:00:01.250000000Z"), 1.25);
});

test("frames carry the stream and big-endian size", () => {
  assert.deepEqual([...frame("stderr", Buffer.from("ab"))], [2, 0, 0, 0, 0, 0, 0, 2, 97, 98]);
});

test("tail, streams, since/until select records", async (t) => {
  const dir = await makeTempDir("pier-logs-");
  t.after(() => removeTempDir(dir));
  const p = join(dir, "l.json");
  await writeFile(
    p,
    line("stdout", "1\n", "1970-01-01T00:00:01Z") +
      line("stderr", "2\n", "1970-01-01T00:00:02Z") +
      line("stdout", "3\n", "1970-01-01T00:00:03Z"),
  );
  assert.deepEqual(await collect(readLogs(p)), ["stdout:1\n", "stderr:2\n", "stdout:3\n"]);
  assert.deepEqual(await collect(readLogs(p, { tail: 2 })), ["stderr:2\n", "stdout:3\n"]);
  assert.deepEqual(await collect(readLogs(p, { tail: 0 })), []);
  assert.deepEqual(await collect(readLogs(p, { stderr: false })), ["stdout:1\n", "stdout:3\n"]);
  assert.deepEqual(await collect(readLogs(p, { since: 2, until: 3 })), ["stderr:2\n"]);
  assert.deepEqual(await collect(readLogs(join(dir, "missing"))), []);
});

test("follow reads what is appended until the writer is done", async (t) => {
  const dir = await makeTempDir("pier-logs-");
  t.after(() => removeTempDir(dir));
  const p = join(dir, "l.json");
  await writeFile(p, line("stdout", "a\n", "1970-01-01T00:00:01Z"));
  let done = false;
  const got = collect(readLogs(p, { follow: true, done: () => done }));
  await new Promise((r) => setTimeout(r, 100));
  await appendFile(p, line("stdout", "b\n", "1970-01-01T00:00:02Z"));
  await new Promise((r) => setTimeout(r, 100));
  // The last record lands right when the writer says it is done: it must still be read.
  await appendFile(p, line("stderr", "c\n", "1970-01-01T00:00:03Z"));
  done = true;
  assert.deepEqual(await got, ["stdout:a\n", "stdout:b\n", "stderr:c\n"]);
});

test("rotated files are read oldest first; tail and since span them", async (t) => {
  const dir = await makeTempDir("pier-logs-");
  t.after(() => removeTempDir(dir));
  const p = join(dir, "l.json");
  await writeFile(`${p}.2`, line("stdout", "1\n", "1970-01-01T00:00:01Z"));
  await writeFile(
    `${p}.1`,
    line("stdout", "2\n", "1970-01-01T00:00:02Z") + line("stderr", "3\n", "1970-01-01T00:00:03Z"),
  );
  await writeFile(p, line("stdout", "4\n", "1970-01-01T00:00:04Z"));
  assert.deepEqual(await collect(readLogs(p)), ["stdout:1\n", "stdout:2\n", "stderr:3\n", "stdout:4\n"]);
  assert.deepEqual(await collect(readLogs(p, { tail: 3 })), ["stdout:2\n", "stderr:3\n", "stdout:4\n"]);
  assert.deepEqual(await collect(readLogs(p, { since: 1.5, until: 3.5 })), ["stdout:2\n", "stderr:3\n"]);
  // An attach reads only the live file, from where it stood.
  assert.deepEqual(await collect(readLogs(p, { fromOffset: 0 })), ["stdout:4\n"]);
});

test("a follower goes on after a rotation, through files rotated before it looked", async (t) => {
  const dir = await makeTempDir("pier-logs-");
  t.after(() => removeTempDir(dir));
  const p = join(dir, "l.json");
  await writeFile(p, line("stdout", "a\n", "1970-01-01T00:00:01Z"));
  let done = false;
  const got = collect(readLogs(p, { follow: true, done: () => done }));
  await new Promise((r) => setTimeout(r, 100));
  // Two rotations at once, as the monitor does them (LOG.1 -> LOG.2, LOG -> LOG.1, new LOG).
  await appendFile(p, line("stdout", "b\n", "1970-01-01T00:00:02Z"));
  renameSync(p, `${p}.1`);
  writeFileSync(p, line("stdout", "c\n", "1970-01-01T00:00:03Z"));
  renameSync(`${p}.1`, `${p}.2`);
  renameSync(p, `${p}.1`);
  writeFileSync(p, line("stdout", "d\n", "1970-01-01T00:00:04Z"));
  await new Promise((r) => setTimeout(r, 100));
  await appendFile(p, line("stdout", "e\n", "1970-01-01T00:00:05Z"));
  done = true;
  assert.deepEqual(await got, ["stdout:a\n", "stdout:b\n", "stdout:c\n", "stdout:d\n", "stdout:e\n"]);
});

test("a follower starts over when the log is truncated (max-file=1)", async (t) => {
  const dir = await makeTempDir("pier-logs-");
  t.after(() => removeTempDir(dir));
  const p = join(dir, "l.json");
  await writeFile(p, line("stdout", "long line one\n", "1970-01-01T00:00:01Z"));
  let done = false;
  const got = collect(readLogs(p, { follow: true, done: () => done }));
  await new Promise((r) => setTimeout(r, 100));
  writeFileSync(p, line("stdout", "x\n", "1970-01-01T00:00:02Z"));
  await new Promise((r) => setTimeout(r, 100));
  done = true;
  assert.deepEqual(await got, ["stdout:long line one\n", "stdout:x\n"]);
});

test("tail reads backwards: exact across 64 KiB chunks and files, with filters, then follows", async (t) => {
  const dir = await makeTempDir("pier-logs-");
  t.after(() => removeTempDir(dir));
  const p = join(dir, "l.json");
  let text = "";
  for (let i = 1; i <= 5000; i++)
    text += line(
      i % 100 === 0 ? "stderr" : "stdout",
      `r${i}\n`,
      `1970-01-01T00:00:${String(i % 60).padStart(2, "0")}Z`,
    );
  await writeFile(`${p}.1`, line("stdout", "old\n", "1970-01-01T00:00:00Z"));
  await writeFile(p, text);
  assert.deepEqual(await collect(readLogs(p, { tail: 3 })), [
    "stdout:r4998\n",
    "stdout:r4999\n",
    "stderr:r5000\n",
  ]);
  assert.deepEqual(await collect(readLogs(p, { tail: 0 })), []);
  // Sparse matches far apart: the reader crosses many chunks to find them.
  assert.deepEqual(await collect(readLogs(p, { tail: 2, stdout: false })), [
    "stderr:r4900\n",
    "stderr:r5000\n",
  ]);
  // More than the live file holds: the rest comes from the rotated one.
  const all = await collect(readLogs(p, { tail: 5001 }));
  assert.equal(all.length, 5001);
  assert.equal(all[0], "stdout:old\n");
  assert.equal(all[5000], "stderr:r5000\n");
  let done = false;
  const got = collect(readLogs(p, { tail: 1, follow: true, done: () => done }));
  await new Promise((r) => setTimeout(r, 100));
  await appendFile(p, line("stdout", "new\n", "1970-01-01T00:01:00Z"));
  await new Promise((r) => setTimeout(r, 100));
  done = true;
  assert.deepEqual(await got, ["stderr:r5000\n", "stdout:new\n"]);
});
