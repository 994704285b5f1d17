import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import {
  formatBytes,
  formatDuration,
  formatLine,
  ProgressRenderer,
  PULL_VERBS,
  progressBar,
  shortId,
} from "./progress.js";

const D1 = `sha256:${"a".repeat(64)}` as const;
const D2 = `sha256:${"b".repeat(64)}` as const;

function sink() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  return { stream, text: () => chunks.join("") };
}

test("formatting helpers", () => {
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(1500), "1.50 kB");
  assert.equal(formatBytes(45_600_000), "45.6 MB");
  assert.equal(formatDuration(5.4), "5s");
  assert.equal(formatDuration(65), "1m05s");
  assert.equal(formatDuration(Number.NaN), "--");
  assert.equal(progressBar(0, 10), "[>         ]");
  assert.equal(progressBar(0.5, 10), "[=====>    ]");
  assert.equal(progressBar(1, 10), "[==========]");
  assert.equal(shortId(D1), "aaaaaaaaaaaa");
  const line = formatLine(
    { id: D1, size: 10_000_000, transferred: 5_000_000, status: "active", startedAt: 0 },
    PULL_VERBS,
    1000,
  );
  assert.equal(
    line,
    "aaaaaaaaaaaa: Downloading [===============>              ] 5.00 MB/10.0 MB  5.00 MB/s  ETA 1s",
  );
});

test("plain output: one line per finished blob, no bars", () => {
  const s = sink();
  const r = new ProgressRenderer({ stream: s.stream, tty: false });
  r.handle({ type: "start", id: D1, kind: "layer", size: 100, mediaType: "x" });
  r.handle({ type: "bytes", id: D1, transferred: 50, size: 100 });
  r.handle({ type: "done", id: D1, size: 100 });
  r.handle({ type: "start", id: D2, kind: "layer", size: 100, mediaType: "x" });
  r.handle({ type: "exists", id: D2, size: 100 });
  r.finish();
  assert.equal(s.text(), "aaaaaaaaaaaa: Pull complete\nbbbbbbbbbbbb: Already exists\n");
});

test("terminal output redraws every line in place", () => {
  const s = sink();
  let now = 0;
  const r = new ProgressRenderer({ stream: s.stream, tty: true, redrawMs: 0, now: () => now });
  r.handle({ type: "start", id: D1, kind: "layer", size: 1000, mediaType: "x" });
  r.handle({ type: "start", id: D2, kind: "layer", size: 1000, mediaType: "x" });
  now = 1000;
  r.handle({ type: "bytes", id: D1, transferred: 500, size: 1000 });
  r.handle({ type: "mounted", id: D2, size: 1000, from: "library/busybox" });
  r.finish();
  const out = s.text();
  assert.match(out, /\x1b\[2A/);
  assert.match(out, /aaaaaaaaaaaa: Downloading \[=+>\s*\] 500 B\/1.00 kB {2}500 B\/s {2}ETA 1s/);
  assert.match(out, /bbbbbbbbbbbb: Mounted from library\/busybox\n$/);
});

test("quiet prints nothing", () => {
  const s = sink();
  const r = new ProgressRenderer({ stream: s.stream, quiet: true, tty: true });
  r.handle({ type: "start", id: D1, kind: "layer", size: 1, mediaType: "x" });
  r.handle({ type: "done", id: D1, size: 1 });
  r.finish();
  assert.equal(s.text(), "");
});
