/**
 * Runs the hooks that execute in the runtime namespace (`prestart`, `createRuntime`, `poststart`,
 * `poststop`): each gets the container state on stdin, exactly its own `env`, and is killed at its
 * `timeout`. Hooks run one after the other in order; the first failure stops the sequence.
 */
import { spawn } from "node:child_process";
import type { Hook } from "../oci/runtime-spec/config.js";
import { RuntimeError } from "./error.js";

/** Runs one hook; throws `HOOK_FAILED` naming the hook, its status or its timeout. */
export function runHook(hook: Hook, stateJson: string, kind: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const args = hook.args ?? [];
    const env: Record<string, string> = {};
    for (const e of hook.env ?? []) {
      const eq = e.indexOf("=");
      env[e.slice(0, eq)] = e.slice(eq + 1);
    }
    const child = spawn(hook.path, args.slice(1), {
      argv0: args[0] ?? hook.path,
      env,
      stdio: ["pipe", "ignore", "pipe"],
    });
    let stderr = "";
    let timedOut = false;
    const timer =
      hook.timeout !== undefined
        ? setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, hook.timeout * 1000)
        : undefined;
    child.stderr?.on("data", (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    child.stdin?.on("error", () => {});
    child.stdin?.end(stateJson);
    child.on("error", (err) => {
      if (timer) clearTimeout(timer);
      reject(new RuntimeError("HOOK_FAILED", `${kind} hook ${hook.path}: ${err.message}`, { cause: err }));
    });
    child.on("exit", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (timedOut)
        reject(new RuntimeError("HOOK_FAILED", `${kind} hook ${hook.path} timed out after ${hook.timeout}s`));
      else if (code === 0) resolve();
      else
        reject(
          new RuntimeError(
            "HOOK_FAILED",
            `${kind} hook ${hook.path} failed: ${signal ? `killed by ${signal}` : `exit status ${code}`}${stderr ? `, stderr: ${stderr.trim()}` : ""}`,
          ),
        );
    });
  });
}

/** Runs `hooks` in order with the same state; stops at the first failure. */
export async function runHooks(
  hooks: readonly Hook[] | undefined,
  stateJson: string,
  kind: string,
): Promise<void> {
  for (const h of hooks ?? []) await runHook(h, stateJson, kind);
}

/** Runs `hooks` in order, reporting failures to `warn` and continuing (poststop, poststart). */
export async function runHooksWarnOnly(
  hooks: readonly Hook[] | undefined,
  stateJson: string,
  kind: string,
  warn: (msg: string) => void,
): Promise<void> {
  for (const h of hooks ?? []) {
    try {
      await runHook(h, stateJson, kind);
    } catch (err) {
      warn((err as Error).message);
    }
  }
}
