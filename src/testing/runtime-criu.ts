/**
 * Whether the checkpoint tests can run here: root and a CRIU 4 (as scripts/install-criu.sh
 * installs it), the one check every checkpoint test file makes before it starts; and how they
 * run a runtime command that leaves a container behind.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { checkCriuVersion, findCriu } from "../runtime/checkpoint/criu-path.js";
import { pierRuntimeCommand } from "./runtime.js";

/** Why checkpoint tests cannot run here, or undefined when CRIU 4 is usable. */
export async function criuSkipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "needs root";
  try {
    await checkCriuVersion(findCriu(undefined, process.env));
    return undefined;
  } catch (err) {
    return `CRIU 4 is not installed (${(err as Error).message}); run scripts/install-criu.sh`;
  }
}

/**
 * Runs `pier-runtime ARGS` that leaves a container behind (run -d, restore -d) with pipes for
 * stdio, as conmon gives them: CRIU dumps a pipe as external and restore hands it the caller's
 * (a host /dev/null or Node's socketpair stdio would be an unknown external file or socket).
 * Bash's process substitutions make the pipes; the output, the command's errors included, goes
 * to the file `out`, read back as `stderr`.
 */
export function runWithPipes(
  args: readonly string[],
  out: string,
): { status: number | null; stderr: string } {
  const [cmd, full] = pierRuntimeCommand(args);
  const r = spawnSync("bash", ["-c", 'exec "$@" < <(:) > >(exec cat >"$OUT") 2>&1', "bash", cmd, ...full], {
    stdio: "ignore",
    env: { ...process.env, OUT: out },
    timeout: 60000,
  });
  return { status: r.status, stderr: existsSync(out) ? readFileSync(out, "utf8") : "" };
}
