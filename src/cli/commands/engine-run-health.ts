/**
 * The `pier run` flags of the init, the stop settings and the healthcheck, with docker's names
 * (`--init`, `--stop-signal`, `--health-cmd`, `--health-interval`, `--health-timeout`,
 * `--health-retries`, `--health-start-period`, `--health-start-interval`, `--no-healthcheck`), and the create request's
 * fields they set.
 */
import type { Command } from "commander";
import { parseCount, parseDuration } from "../args.js";

/** The values of those flags as commander gives them. */
export interface HealthInitFlags {
  init?: boolean;
  stopSignal?: string;
  healthCmd?: string;
  healthInterval?: number;
  healthTimeout?: number;
  healthRetries?: number;
  healthStartPeriod?: number;
  healthStartInterval?: number;
  /** commander's `--no-healthcheck`: false when given. */
  healthcheck?: boolean;
}

/** Adds the flags to a `run` (or `create`) command. */
export function addHealthInitFlags(cmd: Command): Command {
  return (
    cmd
      .option("--init", "run an init as PID 1 that reaps zombies and forwards signals")
      // docker's --init=false: a value after --init would take the image's place here.
      .option("--no-init", "no init, even where pierd's --init default gives one (docker's --init=false)")
      .option("--stop-signal <signal>", "signal stop sends first (default: the image's, else SIGTERM)")
      .option("--health-cmd <command>", "command (run by /bin/sh -c) that checks the container's health")
      .option("--health-interval <duration>", "time between checks (default 30s)", parseDuration)
      .option("--health-timeout <duration>", "a check running longer fails (default 30s)", parseDuration)
      .option("--health-retries <n>", "failures in a row that make it unhealthy (default 3)", parseCount)
      .option(
        "--health-start-period <duration>",
        "failures in this time after the start do not count",
        parseDuration,
      )
      .option(
        "--health-start-interval <duration>",
        "time between checks during the start period (default 5s)",
        parseDuration,
      )
      .option("--no-healthcheck", "disable the image's HEALTHCHECK")
  );
}

/** The create request's `init`, `stopSignal` and `healthcheck` from the flags (a usage error when they conflict). */
export function healthInitBody(f: HealthInitFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (f.init !== undefined) body.init = f.init;
  if (f.stopSignal !== undefined) body.stopSignal = f.stopSignal;
  const tuned =
    f.healthCmd !== undefined ||
    f.healthInterval !== undefined ||
    f.healthTimeout !== undefined ||
    f.healthRetries !== undefined ||
    f.healthStartPeriod !== undefined ||
    f.healthStartInterval !== undefined;
  if (f.healthcheck === false) {
    if (tuned) throw new Error("--no-healthcheck conflicts with --health-* options");
    body.healthcheck = { test: ["NONE"] };
  } else if (tuned) {
    body.healthcheck = {
      test: f.healthCmd !== undefined ? ["CMD-SHELL", f.healthCmd] : [],
      ...(f.healthInterval !== undefined ? { intervalMs: f.healthInterval } : {}),
      ...(f.healthTimeout !== undefined ? { timeoutMs: f.healthTimeout } : {}),
      ...(f.healthRetries !== undefined ? { retries: f.healthRetries } : {}),
      ...(f.healthStartPeriod !== undefined ? { startPeriodMs: f.healthStartPeriod } : {}),
      ...(f.healthStartInterval !== undefined ? { startIntervalMs: f.healthStartInterval } : {}),
    };
  }
  return body;
}
