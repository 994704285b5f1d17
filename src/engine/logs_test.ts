import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { renameSync, writeFileSync } from "node:fs";
import { appendFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { requireTool } from "../testing/tools.js";
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

test("the files of a log are found mid-rotation, when one name is missing for a moment", async (t) => {
  const dir = await makeTempDir("pier-logs-");
  t.after(() => removeTempDir(dir));
  const p = join(dir, "l.json");
  // The monitor has renamed LOG.2 -> LOG.3 and LOG.1 -> LOG.2 but not yet LOG -> LOG.1.
  await writeFile(`${p}.3`, line("stdout", "1\n", "1970-01-01T00:00:01Z"));
  await writeFile(`${p}.2`, line("stdout", "2\n", "1970-01-01T00:00:02Z"));
  await writeFile(p, line("stdout", "3\n", "1970-01-01T00:00:03Z"));
  assert.deepEqual(await collect(readLogs(p)), ["stdout:1\n", "stdout:2\n", "stdout:3\n"]);
  assert.deepEqual(await collect(readLogs(p, { tail: 2 })), ["stdout:2\n", "stdout:3\n"]);
  // Past the end of the chain (two names missing in a row) nothing is looked for.
  await writeFile(`${p}.6`, line("stdout", "0\n", "1970-01-01T00:00:00Z"));
  assert.deepEqual(await collect(readLogs(p)), ["stdout:1\n", "stdout:2\n", "stdout:3\n"]);
});

test("a follower started before the log existed reads the files rotated before it looked", async (t) => {
  const dir = await makeTempDir("pier-logs-");
  t.after(() => removeTempDir(dir));
  const p = join(dir, "l.json");
  let done = false;
  const got = collect(readLogs(p, { follow: true, done: () => done }));
  await new Promise((r) => setTimeout(r, 100));
  writeFileSync(`${p}.1`, line("stdout", "a\n", "1970-01-01T00:00:01Z"));
  writeFileSync(p, line("stdout", "b\n", "1970-01-01T00:00:02Z"));
  await new Promise((r) => setTimeout(r, 100));
  done = true;
  assert.deepEqual(await got, ["stdout:a\n", "stdout:b\n"]);
});

test("a follower that fell max-file rotations behind loses only the files deleted meanwhile", async (t) => {
  const dir = await makeTempDir("pier-logs-");
  t.after(() => removeTempDir(dir));
  const p = join(dir, "l.json");
  // max-file=3: LOG, LOG.1, LOG.2.
  const rotate = (text: string) => {
    try {
      renameSync(`${p}.1`, `${p}.2`);
    } catch {}
    renameSync(p, `${p}.1`);
    writeFileSync(p, line("stdout", text, "1970-01-01T00:00:02Z"));
  };
  await writeFile(
    p,
    line("stdout", "a1\n", "1970-01-01T00:00:01Z") + line("stdout", "a2\n", "1970-01-01T00:00:01Z"),
  );
  let done = false;
  const gen = readLogs(p, { follow: true, done: () => done });
  assert.equal((await gen.next()).value?.log, "a1\n");
  // The follower holds the first file; four rotations delete it and the file after it.
  for (const text of ["b\n", "c\n", "d\n", "e\n"]) rotate(text);
  done = true;
  const rest = await collect(gen);
  assert.deepEqual(rest, ["stdout:a2\n", "stdout:c\n", "stdout:d\n", "stdout:e\n"]);
});

// A writer that rotates exactly as pier-monitor's rotate_log does (LOG.(i-1) -> LOG.i from the
// top down, LOG -> LOG.1, a new LOG; max-file F counts LOG itself), as fast as it can, every
// `every` records. It stays at most `window` records ahead of the last record the follower
// acknowledged on stdin, so a correct follower never falls max-file rotations behind. A follower
// that loses records may stop acknowledging: after 5 s without one the writer says "stalled" on
// stdout and goes on unpaced.
const ROTATING_WRITER = `
import json, os, select, sys
p, n, every, files, window = sys.argv[1], *map(int, sys.argv[2:6])
acked = 0
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
for i in range(1, n + 1):
    while i - acked > window:
        r, _, _ = select.select([0], [], [], 5)
        if not r:
            print("stalled at record %d" % i, flush=True)
            acked = n
            break
        data = os.read(0, 4096)
        if not data:
            acked = n
            break
        acked = max([acked] + [int(x) for x in data.split()])
    if i > 1 and (i - 1) % every == 0:
        for j in range(files - 1, 1, -1):
            try:
                os.rename("%s.%d" % (p, j - 1), "%s.%d" % (p, j))
            except FileNotFoundError:
                pass
        os.rename(p, p + ".1")
        new = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o640)
        os.close(fd)
        fd = new
    rec = json.dumps({"log": "%d\\n" % i, "stream": "stdout", "time": "1970-01-01T00:00:01Z"}) + "\\n"
    os.write(fd, rec.encode())
`;

test("a follower loses no record while the monitor rotates under it, nor reads one twice", {
  timeout: 120_000,
}, async (t) => {
  const python = requireTool("/usr/bin/python3", "python3");
  const dir = await makeTempDir("pier-logs-");
  t.after(() => removeTempDir(dir));
  const p = join(dir, "l.json");
  const n = 10_000;
  const every = 10;
  await writeFile(p, "");
  const child = spawn(python, ["-c", ROTATING_WRITER, p, String(n), String(every), "4", "20"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let said = "";
  child.stdout.on("data", (d: Buffer) => {
    said += d.toString();
  });
  child.stdin.on("error", () => {}); // the writer may finish before our last acknowledgement
  let exited = false;
  const status = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      exited = true;
      resolve(code);
    }),
  );
  const seen: number[] = [];
  let acked = 0;
  for await (const e of readLogs(p, {
    follow: true,
    done: () => exited,
    // Looks again at once instead of every 25 ms: the follower's checks meet the rotations often.
    wake: (notify) => {
      const next = setImmediate(notify);
      return () => clearImmediate(next);
    },
  })) {
    const i = Number(e.log);
    seen.push(i);
    if (i > acked) {
      acked = i;
      child.stdin.write(`${i}\n`);
    }
  }
  assert.equal(await status, 0);
  assert.equal(said, "", "the writer was never more than 20 records ahead of the follower");
  const missing: number[] = [];
  for (let i = 1, k = 0; i <= n; i++)
    if (seen[k] === i) k++;
    else missing.push(i);
  assert.equal(seen.length, n, `${n - seen.length} records short; first missing: ${missing.slice(0, 10)}`);
  assert.deepEqual(missing, []);
});
