import assert from "node:assert/strict";
import { test } from "node:test";
import { afterProbe, initialHealth, nextProbeDelay } from "./health.js";
import {
  effectiveHealthcheck,
  healthcheckFromDocker,
  healthcheckToDocker,
  mergeHealthcheck,
  parseHealthcheck,
  probeCommand,
} from "./health-config.js";
import { withInit } from "./init.js";
import { commandColumn, humanDuration, statusText } from "./status-text.js";

test("healthchecks: Docker's document, validation, the image's merged under the container's", () => {
  const image = parseHealthcheck(
    healthcheckFromDocker({ Test: ["CMD", "true"], Interval: 5e9, Timeout: 2e9, Retries: 4 }),
  );
  assert.deepEqual(image, { test: ["CMD", "true"], intervalMs: 5000, timeoutMs: 2000, retries: 4 });
  // An empty test keeps the image's; each duration given replaces the image's.
  assert.deepEqual(mergeHealthcheck(image, { test: [], intervalMs: 100 }), {
    test: ["CMD", "true"],
    intervalMs: 100,
    timeoutMs: 2000,
    retries: 4,
  });
  assert.equal(effectiveHealthcheck(mergeHealthcheck(image, { test: ["NONE"] })), undefined);
  assert.deepEqual(effectiveHealthcheck({ test: ["CMD-SHELL", "exit 0"] }), {
    test: ["CMD-SHELL", "exit 0"],
    intervalMs: 30000,
    timeoutMs: 30000,
    startPeriodMs: 0,
    startIntervalMs: 5000,
    retries: 3,
  });
  assert.deepEqual(probeCommand(effectiveHealthcheck({ test: ["CMD-SHELL", "a && b"] })!), [
    "/bin/sh",
    "-c",
    "a && b",
  ]);
  assert.deepEqual(probeCommand(effectiveHealthcheck({ test: ["CMD", "x", "y"] })!), ["x", "y"]);
  assert.throws(() => parseHealthcheck({ test: ["RUN", "x"] }), /NONE, CMD or CMD-SHELL/);
  assert.throws(() => parseHealthcheck({ test: ["CMD"] }), /needs a command/);
  assert.throws(
    () => parseHealthcheck(healthcheckFromDocker({ Test: ["CMD", "x"], Interval: 5 })),
    /less than 1ms/,
  );
  assert.throws(() => parseHealthcheck({ test: ["CMD", "x"], retries: -1 }), /negative/);
});

test("health after probes: start period, retries, the last five logs", () => {
  const check = { retries: 2, startPeriodMs: 1000 };
  const started = Date.parse("2024-01-01T00:00:00Z");
  const probe = (at: number, code: number) => ({
    Start: new Date(started + at).toISOString(),
    End: new Date(started + at + 1).toISOString(),
    ExitCode: code,
    Output: "",
  });
  let h = afterProbe(initialHealth(), probe(500, 1), check, started);
  assert.deepEqual(
    [h.Status, h.FailingStreak, h.Log.length],
    ["starting", 0, 1],
    "not counted in the start period",
  );
  h = afterProbe(h, probe(1500, 1), check, started);
  assert.deepEqual([h.Status, h.FailingStreak], ["starting", 1]);
  h = afterProbe(h, probe(2000, 1), check, started);
  assert.deepEqual([h.Status, h.FailingStreak], ["unhealthy", 2]);
  h = afterProbe(h, probe(2500, 0), check, started);
  assert.deepEqual([h.Status, h.FailingStreak], ["healthy", 0]);
  for (let i = 0; i < 6; i++) h = afterProbe(h, probe(3000 + i, 1), check, started);
  assert.equal(h.Log.length, 5);
  assert.equal(h.Status, "unhealthy");
});

test("--init: the init runs the command after -- and is bound read-only", () => {
  const spec = withInit(
    {
      ociVersion: "1.0.2",
      process: { args: ["sh", "-c", "x"], cwd: "/", user: { uid: 0, gid: 0 } },
      mounts: [],
    },
    "/b/init",
  );
  assert.deepEqual(spec.process?.args, ["/sbin/docker-init", "--", "sh", "-c", "x"]);
  assert.deepEqual(spec.mounts?.at(-1), {
    destination: "/sbin/docker-init",
    type: "bind",
    source: "/b/init",
    options: ["bind", "ro", "nosuid", "nodev"],
  });
});

test("docker's relative times, Status and COMMAND columns", () => {
  assert.equal(humanDuration(500), "Less than a second");
  assert.equal(humanDuration(1000), "1 second");
  assert.equal(humanDuration(59_000), "59 seconds");
  assert.equal(humanDuration(90_000), "About a minute");
  assert.equal(humanDuration(3 * 60_000 + 5000), "3 minutes");
  assert.equal(humanDuration(65 * 60_000), "About an hour");
  assert.equal(humanDuration(5 * 3600_000), "5 hours");
  assert.equal(humanDuration(3 * 86400_000), "3 days");
  assert.equal(humanDuration(20 * 86400_000), "2 weeks");
  assert.equal(humanDuration(90 * 86400_000), "3 months");
  assert.equal(humanDuration(800 * 86400_000), "2 years");
  const r = { status: "running", exitCode: 0, startedAt: "2024-01-01T00:00:00Z", finishedAt: "" };
  assert.equal(statusText(r, Date.parse("2024-01-01T00:03:00Z"), " (healthy)"), "Up 3 minutes (healthy)");
  assert.equal(commandColumn("sleep 1000"), '"sleep 1000"');
  assert.equal(commandColumn("sh -c 'while true; do date; done'"), '"sh -c \'while true; …"');
  assert.equal(
    commandColumn("sh -c 'while true; do date; done'", true),
    "\"sh -c 'while true; do date; done'\"",
  );
});

test("the start interval (API 1.44): Docker's StartInterval, used while starting in the start period", () => {
  const h = parseHealthcheck(
    healthcheckFromDocker({ Test: ["CMD", "true"], StartPeriod: 60e9, StartInterval: 2e8, Interval: 3600e9 }),
  );
  assert.equal(h?.startIntervalMs, 200);
  assert.equal(healthcheckToDocker(h!).StartInterval, 2e8);
  const check = effectiveHealthcheck(h)!;
  assert.equal(nextProbeDelay(check, "starting", 1000), 200, "starting, in the start period");
  assert.equal(nextProbeDelay(check, "healthy", 1000), 3600e3, "healthy: the interval");
  assert.equal(nextProbeDelay(check, "unhealthy", 1000), 3600e3);
  assert.equal(nextProbeDelay(check, "starting", 60_000), 3600e3, "after the start period");
  // Docker's default start interval (5 s) with a start period and no start interval.
  assert.equal(
    nextProbeDelay(effectiveHealthcheck({ test: ["CMD", "x"], startPeriodMs: 60_000 })!, "starting", 0),
    5000,
  );
  // Without a start period, only the interval.
  assert.equal(
    nextProbeDelay(effectiveHealthcheck({ test: ["CMD", "x"], intervalMs: 700 })!, "starting", 0),
    700,
  );
  assert.throws(
    () => parseHealthcheck(healthcheckFromDocker({ Test: ["CMD", "x"], StartInterval: 5 })),
    /startIntervalMs: 0.000005 cannot be less than 1ms/,
  );
  assert.throws(
    () => healthcheckFromDocker({ Test: ["CMD", "x"], Bogus: 1 }),
    /Healthcheck\.Bogus is not a field/,
  );
});
